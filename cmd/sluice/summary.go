package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/sluicehq/sluice/core"
)

// printSummary writes the end-of-run ledger: one row per stage, then the
// outputs and dead-letter files.
func printSummary(w io.Writer, rep *core.Report) {
	if rep == nil {
		return
	}
	status := "done"
	if rep.Err != nil {
		status = "FAILED"
	}
	name := rep.Pipeline
	if name == "" {
		name = rep.File
	}
	fmt.Fprintf(w, "\npipeline %s: %s in %s", name, status, rep.Duration.Round(time.Millisecond))
	if rep.InputBytes > 0 {
		secs := rep.Duration.Seconds()
		fmt.Fprintf(w, ", %s input", humanBytes(rep.InputBytes))
		if secs > 0 {
			fmt.Fprintf(w, " (%s/s)", humanBytes(int64(float64(rep.InputBytes)/secs)))
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tkind\tworkers\tin\tout\tskipped\tdead-lettered\terrored\tdropped\tbusy\t")
	for _, s := range rep.Stages {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", s.Name, s.Kind, s.Workers,
			s.In, s.Out, s.Skipped, s.DeadLettered, s.Errored, s.Dropped, s.Busy.Round(time.Millisecond))
	}
	tw.Flush()
	var outputs []core.Output
	for _, s := range rep.Stages {
		outputs = append(outputs, s.Outputs...)
		if s.DeadLetterFile != "" {
			fmt.Fprintf(w, "dead letters of %s: %s (%d records)\n", s.Name, s.DeadLetterFile, s.DeadLettered)
		}
	}
	if len(outputs) > 0 {
		fmt.Fprintln(w, "outputs:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, o := range outputs {
			fmt.Fprintf(tw, "  %s\t%d records\t%s\t%s\n", o.Path, o.Records, humanBytes(o.Bytes), o.Note)
		}
		tw.Flush()
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
