// Package mapper is the `map` stage kind (the package cannot be named map,
// a Go keyword): it changes records with expressions. Kind is the entry
// point; Stage is the built stage.
//
// With `fields`, each record becomes a JSON record (kind json): an object
// holding the named fields, in the order written, each the value of an
// expression over the input record. This is how XML or CSV becomes JSON
// lines, or, with write's `format: csv`, a CSV of chosen columns:
//
//	with:
//	  fields:
//	    id: 'attr("id")'
//	    title: 'text("title")'
//	    authors: 'texts("authors/author")'
//
// A value may be a string, a number, true or false, null (attr of a
// missing attribute), a list or a map; it is written as JSON.
//
// `category` (an expression) and `labels` (label name to expression) set
// the record's category and labels, with or without fields; without fields
// the record keeps its kind and data. Every expression reads the input
// record, in the expression language of classify. The output keeps the
// input's source position, so errors downstream still name the input's
// file, line and column. An expression that fails on a record is an error
// about that record, handled by the stage's on_error.
//
// Cost: one evaluation per expression per record, and one allocation for
// the JSON object's bytes (BenchmarkMap).
package mapper
