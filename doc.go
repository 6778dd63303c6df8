// Package sluice embeds Sluice in a Go program: load a pipeline from a
// file or from bytes, register stage kinds of your own next to the
// built-in ones, run the pipeline with a context and get its report, and
// run the pipeline test files kept beside it. The sluice command is a
// thin user of this package.
//
// # The public API, and what is stable
//
// Two packages are public and follow semantic versioning from v1.0:
//
//   - sluice (this package) puts the pieces together: an Engine holds the
//     stage kinds (the built-in read, split, filter, map, classify, count and write,
//     plus yours) and the template search path, and loads, runs and tests
//     pipelines.
//   - core is the contract a stage kind is written against (Stage, Source,
//     Processor, BatchProcessor, Aggregator and the optional interfaces,
//     Record, Define for options decoded from `with:`), and the engine's
//     steps (Loader, Plan, Run, Report) for programs that need them apart.
//
// A kind registered with Engine.Register is the same thing as a built-in
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
