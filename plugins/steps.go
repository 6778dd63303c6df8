package plugins

import (
	"context"
	"sync"
	"time"
)

// A Build is one build of a plugin from source (plugin.source), a step of
// the run of its own: it happens during the stage's setup, before any
// record flows, so it is part of no stage's busy time.
type Build struct {
	// Plugin is the binary's name (the package directory's) and Source the
	// package as the pipeline names it.
	Plugin string `json:"plugin"`
	Source string `json:"source"`
	// Started is when go build started; Duration how long it took, or has
	// taken so far while Done is false.
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Done     bool          `json:"done"`
	// Failed is set when the build failed or was stopped.
	Failed bool `json:"failed,omitempty"`
}

// BuildSteps records the plugin builds of a run, for progress displays and
// reports: give it to the run's context with WithBuildSteps. A plugin found
// in the cache is not built and not recorded. It is safe for concurrent
// use; the zero value is ready.
type BuildSteps struct {
	mu     sync.Mutex
	builds []Build
}

// Builds returns the builds so far, in the order they started, with the
// duration of those still running measured now.
func (s *BuildSteps) Builds() []Build {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Build(nil), s.builds...)
	for i := range out {
		if !out[i].Done {
			out[i].Duration = time.Since(out[i].Started)
		}
	}
	return out
}

type buildStepsKey struct{}

// WithBuildSteps returns a context that makes the plugins started with it
// record their builds in s.
func WithBuildSteps(ctx context.Context, s *BuildSteps) context.Context {
	return context.WithValue(ctx, buildStepsKey{}, s)
}

func buildStepsFrom(ctx context.Context) *BuildSteps {
	s, _ := ctx.Value(buildStepsKey{}).(*BuildSteps)
	return s
}

// buildStep is one running build; end records its outcome.
type buildStep struct {
	s     *BuildSteps
	i     int
	start time.Time
}

func (s *BuildSteps) begin(plugin, source string) buildStep {
	st := buildStep{s: s, start: time.Now()}
	if s != nil {
		s.mu.Lock()
		st.i = len(s.builds)
		s.builds = append(s.builds, Build{Plugin: plugin, Source: source, Started: st.start})
		s.mu.Unlock()
	}
	return st
}

// end records the build as done and returns its duration.
func (st buildStep) end(err error) time.Duration {
	d := time.Since(st.start)
	if st.s != nil {
		st.s.mu.Lock()
		b := &st.s.builds[st.i]
		b.Duration, b.Done, b.Failed = d, true, err != nil
		st.s.mu.Unlock()
	}
	return d
}
