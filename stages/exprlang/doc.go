// Package exprlang is the expression language of the built-in stages as
// tools see it: its reference (WriteText, WriteMarkdown, WriteSummary),
// generated from the table that registers the functions, and Eval, which
// evaluates an expression on the records the split stage emits from a
// file, as `sluice eval` does. The language itself lives in
// stages/internal/recexpr; this package only exposes it.
package exprlang
