// Package filter is the `filter` stage kind: it passes on the records for
// which an expression holds and drops the others, on purpose. Kind is the
// entry point; Stage is the built stage.
//
// Set exactly one of `keep` (pass on the records where the expression is
// true) or `drop` (pass on the records where it is false). The expression
// language is classify's (attr, text, field, json, line, category, …):
//
//	with:
//	  drop: 'json("level") == "DEBUG"'
//
// A dropped record is counted in the stage's `filtered` column of the
// summary and the report (part of `processed`), never as an error or a
// skip: a filter that drops most of its input is doing its job. An
// expression that fails on a record (a malformed XML record, a missing CSV
// column, a JSON value of the wrong type) is an error about that record,
// handled by the stage's on_error.
//
// Records pass unchanged: same kind, data, position, category and labels.
// Cost: one evaluation of the expression per record, the same as one
// classify rule (BenchmarkFilter).
package filter
