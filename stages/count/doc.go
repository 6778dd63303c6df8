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
// exclude and only (attributes mode) choose what is counted, so that
// unique ids do not make the output grow with the input. Each entry is an
// element's or an attribute's name in Clark notation, or element@attribute
// for one attribute of one element: exclude: [record@id] leaves out the
// record ids and keeps every other id; only: [subject, role] counts the
// attributes of <subject> and every role attribute. An attribute is counted
// when only is empty or names it, its element or the pair, and exclude
// names none of them. The names are checked once per element shape met,
// not per record.
//
// A key that evaluates to nil is an error on that record (give defaults
// with ??); numbers and booleans are formatted (2024, true). A record whose
// key or XML fails adds nothing to any count.
//
// # Aggregates
//
// In keyed mode, `aggregate` computes values per group beside its record
// count, each named, with a function and a value expression (the shape of
// Beam YAML's Combine):
//
//	by: [json("service")]
//	aggregate:
//	  - {name: bytes, fn: sum, value: 'json("bytes")'}
//	  - {name: slowest, fn: max, value: 'json("ms")'}
//	  - {name: users, fn: distinct, value: 'json("user")'}
//
// sum, min, max and mean take numbers: an integer or a float, or a string
// holding one (CSV fields and XML attributes are strings; spaces around
// the number are allowed). Anything else (nil for a missing value, a
// boolean, a list, a string that is no number, NaN, infinities) is an
// error on that record naming its position and the aggregate's option
// ("aggregate[1].value: not a number: ..."), handled by the stage's
// on_error like every record error; the record adds nothing to any count.
// Give a default with ?? or filter such records out first. Sums stay exact
// int64 integers while every value is an integer and the sum fits, so they
// do not depend on how records were spread over the workers; a fraction
// or an overflow turns the sum into a float64, whose last digits may then
// vary with the order the workers' sums are added in. mean is sum / count
// as a float64.
//
// distinct counts the exact number of distinct values (strings, as keys
// are) in each group. It keeps every value: about 50 bytes plus the
// value's length per distinct value, per group, per worker holding it, and
// the union of the workers' sets per group while the output is written.
// `limit` bounds it (default 100000, at most 16777216, checked by
// validate): a group with more distinct values fails the run, naming the
// aggregate and the group. There is no approximate (HyperLogLog) mode
// yet: it would merge as well, but it needs a new dependency and its
// estimates would need their own tests; exact counts with a bound cover
// the distinct users or sessions per key that count is asked for.
//
// Aggregates merge like the counts: each worker keeps its own states, and
// the states of a group are combined (sums added, minima and maxima
// compared, distinct sets united) when its row is written.
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
// `by` order, with counts at the leaves (with aggregates, the leaf is an
// object of count and the aggregates by name). For by: [category, lang]:
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
// are empty and whose count is the group's number of records. With
// aggregates, their columns follow count.
//
// JSON lines (an output ending in .jsonl, or "-"): one object per CSV
// row, members named like the CSV columns: {"category": "book", "lang":
// "en", "count": 12}. In attributes mode a group's line holds its keys and
// "records", and each value's line its keys, element, attribute, value and
// count.
//
// Standard output ("-"): the totals are written to a temporary file and
// copied to standard output only once the run has committed every other
// output, so a failed or interrupted run prints nothing there (stdout.go).
//
// The output's Records in the run summary is the number of rows written
// (as the CSV form would have them: groups, plus attribute values in
// attributes mode); its note says how many records they came from.
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
