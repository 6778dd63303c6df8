// Package sluice embeds Sluice in a Go program: New makes an Engine with
// the built-in stage kinds, kinds of your own (WithKinds), a template
// search path and an environment, all fixed at construction; then Load or
// LoadFile plans a pipeline, Run runs it with a context and returns its
// report, and Templates and Kinds list what pipelines can use. The sluice
// command is a thin user of this package.
//
// # The public API, and what is stable
//
// These packages are public and follow semantic versioning from v1.0 (see
// docs/architecture.md for how they depend on each other):
//
//   - sluice (this package) puts the pieces together.
//   - stage is the contract a stage kind is written against (Stage,
//     Source, Processor, BatchProcessor, Aggregator and the optional
//     interfaces, Record, Define for options decoded from `with:`); a
//     stage author imports it alone.
//   - pipeline (parse, include, templates, plan) and engine (run, report,
//     monitor) are the steps apart, for programs that need them; pipetest
//     runs pipeline test files, apart so that embedders do not link it.
//
// A kind added with WithKinds is the same thing as a built-in
// one: its options are decoded strictly from `with:` through the struct's
// yaml and doc tags, errors point at the pipeline file's line and column,
// it runs on the same pools and batches, and `sluice stages` can describe
// it. Everything under internal/ and the stages/* packages' unexported
// parts may change at any time.
//
// Classifiers that must live in another process (their own dependencies,
// another language, state that cannot be shared) are plugins instead:
// see the sdk package.
package sluice
