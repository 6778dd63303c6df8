// Command sluice runs declarative dataflow pipelines over large files on
// every core.
//
//	sluice run [pipeline.yaml]       run a pipeline (default ./pipeline.yaml)
//	sluice validate [pipeline.yaml]  check a pipeline without running it
//	sluice graph [pipeline.yaml]     draw the pipeline (DOT, Mermaid, SVG or PNG)
//	sluice stages [kind]             list stage kinds, their options and samples
//	sluice expr                      the expression language's reference
//	sluice eval EXPR --record FILE   an expression on each record of a file
//	sluice tap STAGE [pipeline.yaml] the first records a stage emits; writes nothing
//	sluice recover [pipeline.yaml]   finish or undo the commit of a run killed while committing
//
// Exit codes: 0 success, 1 the run failed, 2 the pipeline is invalid (or
// the command line is wrong), 130 interrupted by SIGINT or SIGTERM.
package main

import (
	"errors"
	"fmt"
	"os"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitInvalid     = 2
	exitInterrupted = 130
)

// exitError carries an exit code to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	err := newRoot(os.Stdout, os.Stderr).Execute()
	if err == nil {
		os.Exit(exitOK)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "sluice:", indent(ee.err.Error()))
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "sluice:", err)
	os.Exit(exitInvalid)
}
