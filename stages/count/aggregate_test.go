package count

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stage/stagetest"
	"github.com/sluicehq/sluice/stages/internal/recexpr"
)

// logRecord is a generated JSON-lines log record and what it holds.
type logRecord struct {
	svc, level, user string
	bytes            int64   // sometimes written as a string, "123"
	ms               float64 // sometimes an integer
}

// logRecords generates n log records with adversarial values: integer
// bytes written as numbers or strings (with spaces), durations mixing
// integers and fractions, negative numbers, and names with quotes,
// commas and non-ASCII text.
func logRecords(n int, seed uint64) ([]logRecord, []stage.Record) {
	rng := rand.New(rand.NewPCG(seed, 1))
	svcs := []string{"api", "db", `we"ird, svc`, "ünïcode"}
	levels := []string{"INFO", "WARN", "ERROR"}
	var logs []logRecord
	var recs []stage.Record
	for i := range n {
		l := logRecord{
			svc:   svcs[rng.IntN(len(svcs))],
			level: levels[rng.IntN(len(levels))],
			user:  fmt.Sprintf("u%d", rng.IntN(40)),
			bytes: rng.Int64N(1<<40) - 1<<20,
		}
		var ms any
		if rng.IntN(3) == 0 {
			l.ms = float64(rng.IntN(1000))
			ms = int(l.ms)
		} else {
			l.ms = math.Round(rng.Float64()*1e6) / 1e3
			ms = l.ms
		}
		var b any = l.bytes
		if rng.IntN(4) == 0 {
			b = fmt.Sprintf(" %d ", l.bytes)
		}
		data, _ := json.Marshal(map[string]any{"svc": l.svc, "level": l.level, "user": l.user, "bytes": b, "ms": ms})
		logs = append(logs, l)
		recs = append(recs, stage.Record{Type: stage.JSON, Data: data, Source: stage.Position{File: "log.jsonl", Line: int64(i + 1), Ordinal: int64(i + 1)}})
	}
	return logs, recs
}

var logAggregates = []Aggregate{
	{Name: "bytes", Fn: "sum", Value: `json("bytes")`},
	{Name: "fastest", Fn: "min", Value: `json("ms")`},
	{Name: "slowest", Fn: "max", Value: `json("ms")`},
	{Name: "mean_ms", Fn: "mean", Value: `json("ms")`},
	{Name: "total_ms", Fn: "sum", Value: `json("ms")`},
	{Name: "users", Fn: "distinct", Value: `json("user")`},
}

// fold is the reference: a sequential fold over the records, by service
// and level, in plain maps.
type foldGroup struct {
	count, bytes  int64
	min, max, sum float64
	users         map[string]bool
}

func foldLogs(logs []logRecord) map[[2]string]*foldGroup {
	out := map[[2]string]*foldGroup{}
	for _, l := range logs {
		k := [2]string{l.svc, l.level}
		g := out[k]
		if g == nil {
			g = &foldGroup{min: l.ms, max: l.ms, users: map[string]bool{}}
			out[k] = g
		}
		g.count++
		g.bytes += l.bytes
		g.min, g.max, g.sum = min(g.min, l.ms), max(g.max, l.ms), g.sum+l.ms
		g.users[l.user] = true
	}
	return out
}

// TestAggregatesAgainstFold counts generated logs by service and level
// with aggregates, on 1, 3 and 8 merged accumulators, and compares every
// group's count, sum, min, max, mean and distinct count with a sequential
// fold. Integer sums are exact whatever the number of workers; sums of
// fractions are compared within rounding.
func TestAggregatesAgainstFold(t *testing.T) {
	logs, recs := logRecords(5000, 7)
	want := foldLogs(logs)
	for _, workers := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			out := run(t, Options{By: []string{`json("svc")`, `json("level")`}, Names: []string{"svc", "level"},
				Aggregate: logAggregates, Output: "c.jsonl"}, recs, workers)
			lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if len(lines) != len(want) {
				t.Fatalf("%d lines, want %d groups:\n%s", len(lines), len(want), out)
			}
			prev := ""
			for _, line := range lines {
				var got struct {
					Svc, Level                        string
					Count, Bytes, Users               int64
					Fastest, Slowest, MeanMs, TotalMs float64
				}
				var raw map[string]json.RawMessage
				if err := json.Unmarshal([]byte(line), &raw); err != nil {
					t.Fatalf("line %s: %v", line, err)
				}
				for _, k := range []string{"svc", "level", "count", "bytes", "fastest", "slowest", "mean_ms", "total_ms", "users"} {
					if _, ok := raw[k]; !ok {
						t.Fatalf("line %s: no %s", line, k)
					}
				}
				json.Unmarshal(raw["svc"], &got.Svc)
				json.Unmarshal(raw["level"], &got.Level)
				json.Unmarshal(raw["count"], &got.Count)
				json.Unmarshal(raw["bytes"], &got.Bytes)
				json.Unmarshal(raw["users"], &got.Users)
				json.Unmarshal(raw["fastest"], &got.Fastest)
				json.Unmarshal(raw["slowest"], &got.Slowest)
				json.Unmarshal(raw["mean_ms"], &got.MeanMs)
				json.Unmarshal(raw["total_ms"], &got.TotalMs)
				key := got.Svc + "\x00" + got.Level
				if key <= prev {
					t.Errorf("line %s out of key order", line)
				}
				prev = key
				w := want[[2]string{got.Svc, got.Level}]
				if w == nil {
					t.Fatalf("line %s: no such group", line)
				}
				if got.Count != w.count || got.Bytes != w.bytes || got.Users != int64(len(w.users)) || got.Fastest != w.min || got.Slowest != w.max {
					t.Errorf("line %s\nwant count %d bytes %d users %d min %v max %v", line, w.count, w.bytes, len(w.users), w.min, w.max)
				}
				if !near(got.TotalMs, w.sum) || !near(got.MeanMs, w.sum/float64(w.count)) {
					t.Errorf("line %s\nwant total_ms %v mean_ms %v", line, w.sum, w.sum/float64(w.count))
				}
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestAggregateFormats checks the JSON and CSV shapes of aggregates on a
// small input, and that an integer sum past int64 turns into a float
// rather than wrapping.
func TestAggregateFormats(t *testing.T) {
	var recs []stage.Record
	for i, l := range []string{
		`{"s": "a", "n": 9223372036854775807, "u": "x"}`,
		`{"s": "a", "n": 1, "u": "x"}`,
		`{"s": "b", "n": "2.5", "u": "y"}`,
		`{"s": "b", "n": -4, "u": "z"}`,
	} {
		recs = append(recs, stage.Record{Type: stage.JSON, Data: []byte(l), Source: stage.Position{Line: int64(i + 1)}})
	}
	o := Options{By: []string{`json("s")`}, Names: []string{"s"}, Aggregate: []Aggregate{
		{Name: "sum", Fn: "sum", Value: `json("n")`},
		{Name: "lo", Fn: "min", Value: `json("n")`},
		{Name: "mean", Fn: "mean", Value: `json("n")`},
		{Name: "u", Fn: "distinct", Value: `json("u")`},
	}}
	o.Output = "c.json"
	gotJSON := string(run(t, o, recs, 2))
	wantJSON := `{
  "a": {
    "count": 2,
    "sum": 9223372036854776000,
    "lo": 1,
    "mean": 4611686018427388000,
    "u": 1
  },
  "b": {
    "count": 2,
    "sum": -1.5,
    "lo": -4,
    "mean": -0.75,
    "u": 2
  }
}
`
	if gotJSON != wantJSON {
		t.Errorf("JSON:\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	o.Output = "c.csv"
	gotCSV := string(run(t, o, recs, 3))
	wantCSV := "s,count,sum,lo,mean,u\na,2,9223372036854776000,1,4611686018427388000,1\nb,2,-1.5,-4,-0.75,2\n"
	if gotCSV != wantCSV {
		t.Errorf("CSV:\n%s\nwant\n%s", gotCSV, wantCSV)
	}
	if _, err := csv.NewReader(strings.NewReader(gotCSV)).ReadAll(); err != nil {
		t.Error(err)
	}
}

// TestAggregateNotANumber: a value that is not a number is an error on
// its record, naming the record's position and the aggregate's option,
// handled by on_error like any record error; the record adds nothing to
// any count or aggregate.
func TestAggregateNotANumber(t *testing.T) {
	pos := stage.Position{File: "log.jsonl", Line: 7, Ordinal: 7, Offset: 120}
	good := stage.Record{Type: stage.JSON, Data: []byte(`{"s": "a", "n": 5}`)}
	tests := []struct {
		data, want string
	}{
		{`{"s": "a", "n": "lots"}`, `record log.jsonl:7 (record 7, byte 120): aggregate[1].value: not a number: the string "lots" (give a default with ?? or filter such records out)`},
		{`{"s": "a"}`, `record log.jsonl:7 (record 7, byte 120): aggregate[1].value: not a number: nil, the value is missing (give a default with ?? or filter such records out)`},
		{`{"s": "a", "n": true}`, `record log.jsonl:7 (record 7, byte 120): aggregate[1].value: not a number: bool true`},
		{`{"s": "a", "n": [1]}`, `record log.jsonl:7 (record 7, byte 120): aggregate[1].value: not a number: []interface {} [1]`},
		{`{"s": "a", "n": "NaN"}`, `record log.jsonl:7 (record 7, byte 120): aggregate[1].value: not a number: NaN is not a finite number`},
	}
	for _, tt := range tests {
		t.Run(tt.data, func(t *testing.T) {
			o := Options{By: []string{`json("s")`}, Output: filepath.Join(t.TempDir(), "c.csv"), Aggregate: []Aggregate{
				{Name: "u", Fn: "distinct", Value: `json("s")`},
				{Name: "n", Fn: "sum", Value: `json("n")`},
			}}
			bad := stage.Record{Type: stage.JSON, Data: []byte(tt.data), Source: pos}
			res, err := stagetest.Run(context.Background(), mustBuild(t, &o), []stage.Record{good, bad, good}, stagetest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rejected) != 1 {
				t.Fatalf("rejected %d records, want 1", len(res.Rejected))
			}
			var ee *recexpr.Error
			if got := res.Rejected[0].Err; got.Error() != tt.want || !errors.As(got, &ee) || !errors.Is(got, errNotNumber) || stage.IsFatal(got) {
				t.Errorf("error\n%v\nwant the record error\n%s", got, tt.want)
			}
			out, _ := os.ReadFile(o.Output)
			if want := "\"json(\"\"s\"\")\",count,u,n\na,2,1,10\n"; string(out) != want {
				t.Errorf("output\n%s\nwant\n%s", out, want)
			}
			if _, err := stagetest.Run(context.Background(), mustBuild(t, &o), []stage.Record{bad}, stagetest.Options{FailOnReject: true}); err == nil {
				t.Error("on_error fail: the run succeeded")
			}
		})
	}
}

// TestDistinctLimit: more distinct values in a group than the limit fails
// the run, whether one worker saw them all or only their union exceeds
// the limit; at the limit the run succeeds.
func TestDistinctLimit(t *testing.T) {
	var recs []stage.Record
	for i := range 6 {
		recs = append(recs, stage.Record{Type: stage.JSON, Data: fmt.Appendf(nil, `{"u": "u%d"}`, i%5)})
	}
	for _, tt := range []struct {
		limit, workers int
		fails          bool
	}{{5, 1, false}, {5, 4, false}, {4, 1, true}, {4, 4, true}} {
		t.Run(fmt.Sprint(tt.limit, tt.workers), func(t *testing.T) {
			o := Options{By: []string{`"all"`}, Output: filepath.Join(t.TempDir(), "c.csv"), Aggregate: []Aggregate{
				{Name: "users", Fn: "distinct", Value: `json("u")`, Limit: tt.limit}}}
			s := mustBuild(t, &o)
			ctx := context.Background()
			accs := []stage.Accumulator{}
			var err error
			for i := range recs {
				if i < tt.workers {
					accs = append(accs, s.NewAccumulator())
				}
				if err = accs[i%tt.workers].Add(ctx, &recs[i]); err != nil {
					break
				}
			}
			if err == nil {
				for _, a := range accs[1:] {
					accs[0].Merge(a)
				}
				err = s.Finish(ctx, accs[0], &stagetest.Emitter{})
				s.Abort()
			}
			if tt.fails != (err != nil) {
				t.Fatalf("error %v, want failure %v", err, tt.fails)
			}
			if err != nil && (!stage.IsFatal(err) || !strings.Contains(err.Error(), `aggregate "users": more than 4 distinct values in the group json("u")`) && !strings.Contains(err.Error(), `more than 4 distinct values in the group "all"`)) {
				t.Errorf("error %v: want a fatal error naming the aggregate, the limit and the group", err)
			}
		})
	}
}

// TestStdout: output "-" prints JSON lines once the run is committed, and
// nothing when the run is aborted; no file is left behind.
func TestStdout(t *testing.T) {
	recs := []stage.Record{{Type: stage.JSON, Data: []byte(`{"s": "a"}`)}, {Type: stage.JSON, Data: []byte(`{"s": "b"}`)}}
	for _, abort := range []bool{false, true} {
		o := Options{By: []string{`json("s")`}, Names: []string{"s"}, Output: "-"}
		s := mustBuild(t, &o)
		var buf bytes.Buffer
		s.stdout = &buf
		tmp := t.TempDir()
		t.Setenv("TMPDIR", tmp)
		if _, err := stagetest.Run(context.Background(), s, recs, stagetest.Options{NoCommit: abort}); err != nil {
			t.Fatal(err)
		}
		want := "{\"s\": \"a\", \"count\": 1}\n{\"s\": \"b\", \"count\": 1}\n"
		if abort {
			want = ""
		}
		if buf.String() != want {
			t.Errorf("abort %v: stdout %q, want %q", abort, buf.String(), want)
		}
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("abort %v: left %v in the temporary directory", abort, left)
		}
		outs := s.Outputs()
		if !abort && (len(outs) != 1 || outs[0].Path != "-" || outs[0].Records != 2 || outs[0].Bytes != int64(len(want))) {
			t.Errorf("Outputs() = %+v", outs)
		}
	}
}

// TestJSONLinesMatchCSV: in both modes, with and without by, the JSON
// lines output holds the rows of the CSV output, member for column.
func TestJSONLinesMatchCSV(t *testing.T) {
	for _, o := range []Options{
		{Attributes: true},
		{Attributes: true, By: []string{`attr("type") ?? "none"`}, Names: []string{"type"}, Top: 2},
		{By: []string{"category", `attr("lang") ?? "none"`}, Names: []string{"category", "lang"}},
	} {
		csvOut := o
		csvOut.Output = "c.csv"
		rows, err := csv.NewReader(bytes.NewReader(run(t, csvOut, goldenRecords(), 2))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		jsonOut := o
		jsonOut.Output = "c.jsonl"
		lines := strings.Split(strings.TrimSuffix(string(run(t, jsonOut, goldenRecords(), 3)), "\n"), "\n")
		if len(lines) != len(rows)-1 {
			t.Fatalf("%+v: %d lines, %d CSV rows", o, len(lines), len(rows)-1)
		}
		header := rows[0]
		for i, line := range lines {
			var got map[string]any
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			want := map[string]any{}
			for c, v := range rows[i+1] {
				switch name := header[c]; {
				case name == "count" && o.Attributes && rows[i+1][c-1] == "" && rows[i+1][c-3] == "":
					want["records"] = v // a group's line
				case name == "count":
					want["count"] = v
				case v == "" && (name == "element" || name == "attribute" || name == "value"):
				default:
					want[name] = v
				}
			}
			for k, v := range got {
				if n, ok := v.(float64); ok {
					got[k] = fmt.Sprint(n)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%+v: line %d\n%s\nwant the members of CSV row %v", o, i+1, line, want)
			}
		}
	}
}

// brokenPipe is a standard output whose reader has gone.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestStdoutCopyFails: a copy of the counts to standard output that fails
// after the commit is the stage's error, not only a log line.
func TestStdoutCopyFails(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	o := Options{By: []string{`json("s")`}, Names: []string{"s"}, Output: "-"}
	s := mustBuild(t, &o)
	s.stdout = brokenPipe{}
	recs := []stage.Record{{Type: stage.JSON, Data: []byte(`{"s": "a"}`)}}
	_, err := stagetest.Run(context.Background(), s, recs, stagetest.Options{})
	if err == nil || !errors.Is(err, syscall.EPIPE) || !strings.Contains(err.Error(), "standard output") {
		t.Fatalf("err = %v, want the failed copy to standard output", err)
	}
}
