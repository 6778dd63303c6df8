package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/corpus"
)

// sizes maps the --size names to numbers of records: the peers' generator
// writes about 920 bytes per record as XML.
var sizes = map[string]int{
	"10MB":  11_000,
	"100MB": 110_000,
	"1GB":   1_100_000,
	"4GB":   4_400_000,
}

// csvSizes are the same for W2's CSV corpus, about 320 bytes per row
// (the peers' README: 3,200,000 rows, about 1 GB).
var csvSizes = map[string]int{
	"10MB":  32_000,
	"100MB": 320_000,
	"1GB":   3_200_000,
	"4GB":   12_800_000,
}

// parseSize accepts a name of sizes (csvSizes for the csv format), or a
// number of records.
func parseSize(s, format string) (int, error) {
	names := sizes
	if format == "csv" {
		names = csvSizes
	}
	if n, ok := names[strings.ToUpper(s)]; ok {
		return n, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n, nil
	}
	return 0, fmt.Errorf("--size %q: want 10MB, 100MB, 1GB, 4GB or a number of records", s)
}

// corpusFile returns the corpus of n records in dir, in format "xml" (W1's
// catalogue) or "csv" (W2's: the same records as CSV rows), generating it
// first if it is missing: with the peers' gen_corpus.py (seed 42) when
// peers is not empty, else with internal/corpus (seed 42), which is shaped
// alike with smaller records. A partial file is never left under the final
// name.
func corpusFile(ctx context.Context, dir, peers, python, format string, n int, say func(string, ...any)) (string, error) {
	gen := "go"
	if peers != "" {
		gen = "peers"
	}
	path := filepath.Join(dir, fmt.Sprintf("w1-%s-%d.xml", gen, n))
	if format == "csv" {
		path = filepath.Join(dir, fmt.Sprintf("w2-%s-%d.csv", gen, n))
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := path + ".part"
	if peers != "" {
		say("generating %s with %s/gen_corpus.py (%d records)", path, peers, n)
		cmd := exec.CommandContext(ctx, python, filepath.Join(peers, "gen_corpus.py"), "--seed", "42", "--records", strconv.Itoa(n), "--format", format, "--out", tmp)
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("generate corpus: %w\n%s", err, out)
		}
	} else {
		say("generating %s with internal/corpus in Go (%d records), as the peers' gen_corpus.py is absent", path, n)
		f, err := os.Create(tmp)
		if err != nil {
			return "", err
		}
		write := corpus.WriteXML
		if format == "csv" {
			write = corpus.WriteCSV
		}
		err = write(f, 42, n)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("generate corpus: %w", err)
		}
	}
	return path, os.Rename(tmp, path)
}

// warm reads path once so that every runner finds it in the page cache.
func warm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}
