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
// succeeds, in the run's one commit with every other output (Prepare), and
// is removed otherwise (Abort). Every order is
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
// in attribute mode, parses the whole record once (package xmlview's
// lexer) and counts each attribute in two steps: its key prefix (the by
// keys, the element, the attribute) finds the counter of that attribute's
// values, then the value is counted there. A small cache of the element
// names seen last skips the prefix lookup for records shaped alike, and
// keeping each attribute's values apart keeps the small value sets (type,
// lang, role) in the CPU's caches, away from the millions of record ids.
// Counting a key already seen allocates nothing.
//
// Counters are open-addressing tables whose entries (count, length, key
// bytes) live back to back in one byte arena: no pointers, so the garbage
// collector never scans them. Memory grows with the number of distinct
// keys, not with the input: about 41 bytes per distinct value plus the
// value's bytes (50 bytes for a W1 record id; BenchmarkDistinctKeys), per
// worker holding it. The workers' counters are never merged into one
// table: at the end, each is sorted (all at once, a large one cut into
// pieces, one per core) and the sorted runs are merged in key order as the
// output is written, adding up the counts of keys that several workers
// saw; a large output is merged and formatted in pieces on every core
// (merge.go). That needs about 24 bytes per distinct key beyond the
// counters, and costs about 100 ns per key at a million keys on two cores
// (BenchmarkFinish), nearly all of it spent while nothing else runs.
//
// Attribute counting reads only elements and attributes: records are
// parsed without keeping their text (xmlview.Parser.Elements), and on
// records from split, whose characters split checked, text is skipped.
package count
