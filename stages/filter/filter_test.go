package filter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stages/filter"
)

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts filter.Options
		want string
	}{
		{"neither", filter.Options{}, "keep: required: set keep"},
		{"both", filter.Options{Keep: "true", Drop: "false"}, "drop: set keep or drop, not both"},
		{"syntax", filter.Options{Drop: `json("level") ==`}, "drop: unexpected token EOF"},
		{"not a condition", filter.Options{Keep: `"yes"`}, "keep: expression gives a string, want true or false"},
		{"unknown name", filter.Options{Keep: `atr("x") == "1"`}, "did you mean attr?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := filter.Kind().Build(&tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// logLine is one generated JSON-lines log entry; N is sometimes a string,
// which makes `json("n") > 5` fail on that record.
type logLine struct {
	Level string `json:"level"`
	N     any    `json:"n"`
	Msg   string `json:"msg"`
}

// TestFilterRun runs a real pipeline (read → split jsonl → filter → write)
// on a generated log and checks every outcome against a computation of its
// own with encoding/json: the kept lines, in order; the dropped ones in the
// filtered column; the records the expression fails on skipped, not
// filtered.
func TestFilterRun(t *testing.T) {
	for _, mode := range []string{"keep", "drop"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(7, 8))
			var log bytes.Buffer
			var want []string
			var filtered, failed int64
			levels := []string{"DEBUG", "INFO", "WARN", "ERROR"}
			for i := range 3000 {
				l := logLine{Level: levels[rng.IntN(4)], N: rng.IntN(10), Msg: fmt.Sprintf("event %d", i)}
				if rng.IntN(50) == 0 {
					l.N = "many"
				}
				b, _ := json.Marshal(l)
				log.Write(b)
				log.WriteByte('\n')
				n, isNum := l.N.(int)
				switch {
				case l.Level == "DEBUG": // both expressions drop DEBUG before reading n
					filtered++
				case !isNum:
					failed++
				case (n > 5) == (mode == "keep"):
					want = append(want, string(b))
				default:
					filtered++
				}
			}
			os.WriteFile(filepath.Join(dir, "app.log"), log.Bytes(), 0o644)
			cond := map[string]string{
				"keep": `keep: 'json("level") != "DEBUG" && json("n") > 5'`,
				"drop": `drop: 'json("level") == "DEBUG" || json("n") > 5'`,
			}[mode]
			pipeline := fmt.Sprintf(`name: filter-run
stages:
  in: {use: read, with: {path: %s/app.log}}
  lines: {use: split, from: in, with: {jsonl: {}}}
  wanted:
    use: filter
    from: lines
    workers: 2
    ordered: true
    on_error: skip
    with: {%s}
  out: {use: write, from: wanted, with: {dir: %s/out, by: category}}
`, dir, cond, dir)
			eng := sluice.New()
			g, err := eng.Load("pipeline.yaml", []byte(pipeline))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := eng.Run(context.Background(), g, engine.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.Check(); err != nil {
				t.Fatal(err)
			}
			var st engine.StageReport
			for _, s := range rep.Stages {
				if s.Name == "wanted" {
					st = s
				}
			}
			if st.In != 3000 || st.Out != int64(len(want)) || st.Filtered != filtered || st.Skipped != failed || st.Errored != 0 {
				t.Errorf("ledger in %d out %d filtered %d skipped %d errored %d; want 3000, %d, %d, %d, 0",
					st.In, st.Out, st.Filtered, st.Skipped, st.Errored, len(want), filtered, failed)
			}
			if rep.Totals.Filtered != filtered {
				t.Errorf("totals: filtered %d, want %d", rep.Totals.Filtered, filtered)
			}
			got, err := os.ReadFile(filepath.Join(dir, "out", "uncategorised.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if g, w := strings.TrimSpace(string(got)), strings.Join(want, "\n"); g != w {
				t.Errorf("kept lines differ: got %d bytes, want %d", len(g), len(w))
			}
		})
	}
}
