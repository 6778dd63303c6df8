// Package stagetest drives a single stage in tests, without a pipeline file
// or a runner: feed it records, collect what it emits and rejects.
//
// It follows the runner's call order (Setup, Read or Process/ProcessBatch/
// Add, Finish, Commit or Abort, Teardown) on one goroutine, so a stage that
// passes here still has to be safe for concurrent workers; the runner's
// tests and the race detector cover that.
package stagetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stage"
)

// Rejection is a record a stage reported with Emitter.Reject.
type Rejection struct {
	Record stage.Record
	Err    error
}

// Emitter collects emitted records and rejections. With FailOnReject set,
// Reject returns the error (the fail policy); otherwise it returns nil (the
// skip policy). The zero value is ready to use. It is not safe for
// concurrent use.
type Emitter struct {
	Records      []stage.Record
	Rejected     []Rejection
	FailOnReject bool
}

var _ stage.Emitter = (*Emitter)(nil)

// Emit appends a copy of r.
func (e *Emitter) Emit(r *stage.Record) error {
	e.Records = append(e.Records, *r)
	return nil
}

// Reject records the rejection.
func (e *Emitter) Reject(r *stage.Record, err error) error {
	e.Rejected = append(e.Rejected, Rejection{Record: *r, Err: err})
	if e.FailOnReject {
		return err
	}
	return nil
}

// Result is what Run observed.
type Result struct {
	Records  []stage.Record
	Rejected []Rejection
	// Warnings are what the stage gave its Env.Warnings.
	Warnings []string
}

// Options change how Run drives a stage.
type Options struct {
	// FailOnReject makes Reject return the error, as under on_error: fail.
	FailOnReject bool
	// NoCommit calls Abort instead of committing at the end.
	NoCommit bool
	// Workers is reported to the stage in its Env (default 1).
	Workers int
}

// Run drives stage s through a whole run with the given input records (none
// for a source) and returns what it emitted and rejected. Errors from
// Process and Add go through the reject path, as the runner does, unless
// they are fatal; the first fatal or failing error is returned.
func Run(ctx context.Context, s stage.Stage, input []stage.Record, opt Options) (Result, error) {
	em := &Emitter{FailOnReject: opt.FailOnReject}
	workers := max(opt.Workers, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	warn := stage.NewWarnings(log)
	env := stage.Env{Stage: "test", Workers: workers, Log: log, Counters: &stage.Counters{}, Warnings: warn}
	if su, ok := s.(stage.Setupper); ok {
		if err := su.Setup(ctx, env); err != nil {
			return Result{}, fmt.Errorf("setup: %w", err)
		}
	}
	err := drive(ctx, s, input, em)
	if c, ok := s.(stage.Committer); ok {
		if err == nil && !opt.NoCommit {
			err = engine.Commit(ctx, c)
		} else {
			c.Abort()
		}
	}
	if td, ok := s.(stage.Teardowner); ok {
		err = errors.Join(err, td.Teardown(ctx))
	}
	warnings, _ := warn.List()
	return Result{Records: em.Records, Rejected: em.Rejected, Warnings: warnings}, err
}

func drive(ctx context.Context, s stage.Stage, input []stage.Record, em *Emitter) error {
	reject := func(r *stage.Record, err error) error {
		if stage.IsFatal(err) {
			return err
		}
		return em.Reject(r, err)
	}
	switch st := s.(type) {
	case stage.Source:
		return st.Read(ctx, em)
	case stage.Processor:
		for i := range input {
			if err := st.Process(ctx, &input[i], em); err != nil {
				if err := reject(&input[i], err); err != nil {
					return err
				}
			}
		}
	case stage.BatchProcessor:
		if len(input) > 0 {
			if err := st.ProcessBatch(ctx, input, em); err != nil {
				return err
			}
		}
	case stage.Aggregator:
		acc := st.NewAccumulator()
		for i := range input {
			if err := acc.Add(ctx, &input[i]); err != nil {
				if err := reject(&input[i], err); err != nil {
					return err
				}
			}
		}
		return st.Finish(ctx, acc, em)
	default:
		return fmt.Errorf("stagetest: %T implements none of Source, Processor, BatchProcessor, Aggregator", s)
	}
	if f, ok := s.(stage.Finisher); ok {
		return f.Finish(ctx, em)
	}
	return nil
}
