// Package count is the `count` stage kind: global counts over all records,
// kept as per-worker accumulators that merge once at the end, so that no
// worker waits on a lock or a shared counter. Kind is the entry point;
// Stage is the built stage.
//
// # Modes
//
// Keyed (the default): count records per key tuple. Each `by` entry is a
// string expression over the record (the language of classify: category,
// attr("lang"), field("country"), json("user.plan"), ...), outermost
// first:
//
//	with: {by: [category, 'attr("lang") ?? "none"'], output: out/langs.json}
//
// Attributes (`attributes: true`, XML records only): for every element of
// each record, the root included, and every attribute of it, count the
// (element, attribute, value) triple. Names are in Clark notation:
// "{uri}local", or "local" for a name in no namespace; namespace
// declarations are not attributes, and xml:lang is
// "{http://www.w3.org/XML/1998/namespace}lang". With `by`, the triples and
// the number of records are counted per key tuple.
//
// A key that evaluates to nil is an error on that record (give defaults
// with ??); numbers and booleans are formatted (2024, true). A record whose
// key or XML fails adds nothing to any count.
//
// # Output
//
// The output is written once, when the input is exhausted, to a temporary
// file beside `output`; it gets its final name only when the whole run
// succeeds (Commit), and is removed otherwise (Abort). Every order is
// deterministic: keys sort by their bytes (UTF-8 code point order). With
// `top: N` each innermost group keeps only its N largest counts, largest
// first, ties broken by key.
//
// JSON (an output ending in .json), keyed mode: objects nested by key, in
// `by` order, with counts at the leaves. For by: [category, lang]:
//
//	{
//	  "book/plain": {
//	    "en": 12,
//	    "fr": 3
//	  }
//	}
//
// JSON, attributes mode without `by`: the number of records counted, and
// element → attribute → value → occurrences:
//
//	{
//	  "records": 2,
//	  "attributes": {
//	    "record": {
//	      "type": {
//	        "book": 2
//	      },
//	      "{http://www.w3.org/XML/1998/namespace}lang": {
//	        "en": 1
//	      }
//	    }
//	  }
//	}
//
// With `by`, that object becomes the leaf of the key hierarchy:
// {"book/plain": {"records": 2, "attributes": {...}}}. In a group whose
// records have no attributes, "attributes" is {}.
//
// CSV (an output ending in .csv): a header row, then one row per count.
// Keyed mode: the key columns (named by `names`, or by the expressions)
// then count: for by: [category, 'attr("lang") ?? "none"'] and names:
// [category, lang], the header is category,lang,count. Attributes mode: the key columns, element, attribute, value,
// count; each group starts with a row whose element, attribute and value
// are empty and whose count is the group's number of records.
//
// # Cost
//
// Add evaluates the keys (parsing the record lazily, as classify does) and,
// in attribute mode, parses the record once. Counting a key already seen
// allocates nothing: keys are built in a reused buffer and looked up with
// m[string(buf)]. Memory grows with the number of distinct keys (about
// 50 bytes each plus the key's own bytes, per worker holding it; see
// BenchmarkDistinctKeys), not with the input. Merge costs one map
// operation per distinct key of the merged accumulator. Finish sorts the
// keys; its memory is about twice the final map's.
package count
