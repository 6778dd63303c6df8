// Command bench is Sluice's side-by-side benchmark harness: it runs the
// reference job W1 with Sluice and with the Python peers on the same
// corpus, on the same machine, in one run, checks that their outputs are
// equal, and prints one table (wall time, MB/s, records/s, CPU seconds,
// peak memory of the whole process tree, and each peer's time over
// Sluice's).
//
//	go run ./bench --size 1GB
//
// W1 (see ../shared/peers/README.md): split a catalogue into <record>
// subtrees, classify each by its type attribute and whether its title
// holds a digit, count every (element, attribute, value) and the records
// per category, and write each record to its category's file. Sluice runs
// it through w1.yaml (sort.yaml is W1 without the counts, for the memory
// check; plugin.yaml classifies with the example Go plugin).
//
// Steps: generate the corpus if it is missing (with the peers'
// gen_corpus.py when ../shared/peers is present, else with
// internal/corpus); build sluice; read the corpus once to warm the page
// cache; run Sluice --runs times (3) and keep the median by wall time; run
// each peer once; check the outputs; print the table. Without the peers
// (a fresh clone has no ../shared) it says so, and checks Sluice's outputs
// against an independent encoding/xml computation over the corpus instead.
//
// The check is semantic: record counts per category and the
// (element, attribute, value) counts equal, whatever the JSON layout;
// category files equal as multisets of records, each record compared in a
// canonical form (names in Clark notation, attributes sorted, adjacent
// text merged, comments dropped) computed with encoding/xml, independently
// of the parser Sluice uses.
//
// --job w2 runs the CSV job W2 (w2.yaml) instead, against DuckDB through
// node, Miller 6 and Python's csv module (w2.go), and checks the per
// category counts and category files, as headers and row multisets,
// decoded with encoding/csv. A peer that is not installed, or fails, is
// reported as missing in its row.
//
// --profile FILE runs W1 once in this process with a CPU profile instead,
// and prints each stage's busy time: go tool pprof FILE.
//
// See README.md in this folder for the flags and how to read the numbers.
package main
