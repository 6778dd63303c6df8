// Package classify is the `classify` stage kind: it sets each record's
// category, and optionally labels, from rules written as expressions over
// the record. Kind is the entry point; Rules is the built stage.
//
// # Rules
//
// Rules are tried in order; the first whose `when` condition holds gives
// the category, either a literal (`category`) or computed (`expr`). A rule
// without `when` always matches. A record that no rule matches takes
// `default`; with no default it is an error handled by the stage's
// on_error (a pipeline that silently lets records through unclassified is
// almost always a mistake).
//
//	with:
//	  rules:
//	    - when: 'attr("type") == "map"'
//	      category: maps
//	    - when: 'kind == "csv" && field("lang") in ["en", "fr"]'
//	      expr: '"csv/" + field("lang")'
//	    - expr: 'attr("type") ?? "unknown"'
//	  default: unknown
//	  labels:
//	    lang: 'attr("xml:lang") ?? "und"'
//
// The reference workload W1 (category = type attribute, "unknown" when
// missing, plus /numbered when the title holds an ASCII digit) is one rule:
//
//	rules:
//	  - expr: '(attr("type") ?? "unknown") + (text("title") matches "[0-9]" ? "/numbered" : "/plain")'
//
// # Expressions
//
// Expressions are github.com/expr-lang/expr programs (==, &&, ||, !, ?:,
// ??, in, matches for regular expressions, contains, startsWith, lower,
// upper, trim, split, len, ...) with these names:
//
//	attr("type")     root attribute of an XML record; nil when absent
//	                 ("lang", "xml:lang", "dc:x", or Clark "{uri}local")
//	name()           root element name as written: "record"
//	text("title")    text of the first element at a path below the root
//	                 ("a/b", "*" for any element, "." for the root); "" if none
//	texts("a/b")     texts of every matching element, a list
//	has("a/b")       whether an element matches
//	field("lang")    CSV field by column name (unknown name: an error)
//	json("a.b")      value of a JSON record by dotted path; nil when absent
//	label("k")       label set by an earlier classifier; nil when absent
//	category         category set by an earlier classify ("" if none)
//	file, ordinal    where the record comes from (ordinal counts from 1)
//	kind             "xml", "csv", "line" or "json"
//	line             the record's raw text (a line record's line)
//
// Unprefixed element names in paths are in the record root's default
// namespace; prefixes are those the record declares. Calling an XML
// function on a CSV record (or field on XML, ...) is an error, so mixed
// inputs guard rules with kind == "xml". The full reference is in package
// stages/internal/recexpr.
//
// # Contract
//
// Classify accepts every record kind and emits each record once, as a copy
// with Category set and, when labels are configured, a new Labels map
// holding the record's previous labels plus the configured ones (the input
// record and its map are never modified: fan-out shares them). Labels are
// evaluated after the category, and see it as `category`. A category or
// label that evaluates to nil or the empty string is an error, not an
// empty value: use ?? to give defaults.
//
// Every expression is compiled when the pipeline is built, so `sluice
// validate` reports syntax and type errors with their option path
// ("rules[2].when") and column. On a record, a failing expression (a
// malformed XML record, attr() on a CSV row, a nil where a string is
// needed) is an error naming the record's file, line, ordinal and offset.
//
// # Cost
//
// Process is called concurrently by the stage's workers and takes no lock
// on the hot path beyond a sync.Pool of evaluators. Records are parsed
// lazily, at most once per record, and only as far as the rules read:
// attr() and name() read the root start tag; text() and has() read on up
// to the first element their path matches (the W1 rule reads a record's
// first lines); texts() reads the whole record. A malformation beyond what
// the rules read is not classify's to report (split checks every record it
// emits). Emitting costs one record
// copy, plus one map per record when labels are set.
package classify
