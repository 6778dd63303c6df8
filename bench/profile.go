package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"time"

	"github.com/sluicehq/sluice/engine"
	pipelinepkg "github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stages"
)

// runProfile runs the job once in this process, on the first --size,
// with a CPU profile, and prints each stage's busy time.
func (c *config) runProfile(ctx context.Context) error {
	j := jobs[c.job]
	records, _ := parseSize(c.sizes[0], j.format)
	corpus, err := corpusFile(ctx, c.dir, c.peers, c.python, j.format, records, c.say)
	if err != nil {
		return err
	}
	if err := warm(corpus); err != nil {
		return err
	}
	outDir := filepath.Join(c.dir, "out", "profile")
	if err := os.RemoveAll(outDir); err != nil {
		return err
	}
	for _, kv := range jobs[c.job].env {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	g, err := loadJob(filepath.Join(c.root, "bench", j.file), j.vars(), corpus, outDir)
	if err != nil {
		return err
	}
	f, err := os.Create(c.profile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	if c.trace != "" {
		tf, err := os.Create(c.trace)
		if err != nil {
			return err
		}
		defer tf.Close()
		if err := trace.Start(tf); err != nil {
			return err
		}
		defer trace.Stop()
	}
	rep, err := engine.Run(ctx, g, engine.RunOptions{})
	trace.Stop()
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	secs := rep.Duration.Seconds()
	fmt.Fprintf(c.out, "%s on %s: %.2fs, %.1f MB/s\n", c.job, corpus, secs, float64(rep.InputBytes)/1e6/secs)
	for _, s := range rep.Stages {
		fmt.Fprintf(c.out, "  %-12s %-9s workers %d  busy %v\n", s.Name, s.Kind, s.Workers, s.Busy.Round(time.Millisecond))
	}
	fmt.Fprintf(c.out, "CPU profile: go tool pprof -top %s\n", c.profile)
	if c.trace != "" {
		fmt.Fprintf(c.out, "execution trace: go tool trace %s\n", c.trace)
	}
	return nil
}

// loadJob plans a bench pipeline file for the given input and output
// folder (the VARS_INPUT and VARS_OUT it reads: W1_INPUT, W2_OUT, ...).
func loadJob(pipeline, vars, input, outDir string) (*pipelinepkg.Graph, error) {
	src, err := os.ReadFile(pipeline)
	if err != nil {
		return nil, err
	}
	os.Setenv(vars+"_INPUT", input)
	os.Setenv(vars+"_OUT", outDir)
	g, err := pipelinepkg.Load(pipeline, src, stages.Registry())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", pipeline, err)
	}
	return g, nil
}
