package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/plugins"
	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/sdktest"
	"github.com/sluicehq/sluice/stage"
)

var specConfig = map[string]any{"spec": "spec.json"}

var (
	recordRE = regexp.MustCompile(`(?s)<record\b.*?</record>`)
	startRE  = regexp.MustCompile(`^<record\b[^>]*>`)
	typeRE   = regexp.MustCompile(`\stype="([^"]*)"`)
	titleRE  = regexp.MustCompile(`(?s)<title\b[^>]*>(.*?)</title>`)
	tagRE    = regexp.MustCompile(`<[^>]*>`)
	rootRE   = regexp.MustCompile(`<catalogue\b[^>]*>`)
	nsDeclRE = regexp.MustCompile(`\sxmlns(:\w+)?="[^"]*"`)
)

// catalogue returns the bundled sample records, XML and CSV, and the
// category the reference job W1 gives each, computed here independently of
// the plugin.
func catalogue(t *testing.T) ([]sdk.Record, []string) {
	t.Helper()
	var recs []sdk.Record
	var want []string
	files, err := filepath.Glob("../data/catalog/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample catalogue: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// A record carries the namespace declarations in scope, as sluice's
		// split puts them on its start tag: here, the catalogue's.
		decls := nsDeclRE.FindAll(rootRE.Find(b), -1)
		for _, loc := range recordRE.FindAllIndex(b, -1) {
			data := slices.Concat(b[loc[0]:loc[0]+len("<record")], bytes.Join(decls, nil), b[loc[0]+len("<record"):loc[1]])
			recs = append(recs, sdk.Record{Kind: sdk.XML, Data: data, Source: sdk.Position{File: f, Offset: int64(loc[0])}})
			typ := "unknown"
			if m := typeRE.FindSubmatch(startRE.Find(data)); m != nil {
				typ = string(m[1])
			}
			suffix := "/plain"
			if m := titleRE.FindSubmatch(data); m != nil && regexp.MustCompile(`[0-9]`).Match(tagRE.ReplaceAll(m[1], nil)) {
				suffix = "/numbered"
			}
			want = append(want, typ+suffix)
		}
	}
	b, err := os.ReadFile("../data/loans.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	hdr := sdk.NewHeader(rows[0])
	for _, row := range rows[1:] {
		recs = append(recs, sdk.Record{Kind: sdk.CSV, Header: hdr, Fields: row, Data: []byte(strings.Join(row, ","))})
		typ, _ := (&sdk.Record{Header: hdr, Fields: row}).Field("type")
		if typ == "" {
			typ = "unknown"
		}
		title, _ := (&sdk.Record{Header: hdr, Fields: row}).Field("title")
		suffix := "/plain"
		if strings.ContainsAny(title, "0123456789") {
			suffix = "/numbered"
		}
		want = append(want, typ+suffix)
	}
	return recs, want
}

func categories(t *testing.T, res []sdk.Result) []string {
	t.Helper()
	out := make([]string, len(res))
	for i, r := range res {
		if r.Err != nil {
			t.Errorf("record %d: %v", i, r.Err)
		}
		out[i] = r.Category
	}
	return out
}

func TestW1(t *testing.T) {
	recs, want := catalogue(t)
	c := sdktest.Serve(t, newPlugin())
	if err := c.Init(t.Context(), specConfig); err != nil {
		t.Fatal(err)
	}
	got, err := c.Classify(t.Context(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if cats := categories(t, got); !slices.Equal(cats, want) {
		for i := range want {
			if cats[i] != want[i] {
				t.Errorf("record %d (%.60q): got %q, want %q", i, recs[i].Data, cats[i], want[i])
			}
		}
	}
	if !slices.Contains(want, "unknown/plain") && !slices.Contains(want, "unknown/numbered") || !slices.ContainsFunc(want, func(s string) bool { return strings.HasSuffix(s, "/numbered") }) {
		t.Errorf("the sample data lacks records without a type or with numbered titles: the test proves little")
	}
}

func TestLabels(t *testing.T) {
	c := sdktest.Serve(t, newPlugin())
	if err := c.Init(t.Context(), specConfig); err != nil {
		t.Fatal(err)
	}
	hdr := sdk.NewHeader([]string{"type", "lang", "title"})
	got, err := c.Classify(t.Context(), []sdk.Record{
		{Kind: sdk.XML, Data: []byte(`<record type="map" lang="fr"><title>Stone river, <i>garden</i>s of music 3</title></record>`)},
		{Kind: sdk.XML, Data: []byte(`<record><title>Nothing</title></record>`)},
		{Kind: sdk.CSV, Header: hdr, Fields: []string{"", "xx", "Façade theory"}},
		{Kind: sdk.XML, Data: []byte(`<record type="map"><title>broken</record>`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		category string
		labels   map[string]string
	}{
		{"map/numbered", map[string]string{"lang": "fr", "language": "French", "topics": "arts,earth"}},
		{"unknown/plain", map[string]string{"lang": "none"}},
		{"unknown/plain", map[string]string{"lang": "xx", "topics": "arts,humanities"}},
	}
	for i, w := range want {
		if got[i].Err != nil || got[i].Category != w.category || !mapsEqual(got[i].Labels, w.labels) {
			t.Errorf("record %d: got %+v, want %s %v", i, got[i], w.category, w.labels)
		}
	}
	if got[3].Err == nil || !strings.Contains(got[3].Err.Error(), "malformed XML") {
		t.Errorf("malformed record: got %+v, want an error", got[3])
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestInitErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"typo": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"no spec", map[string]any{}, `"spec" is required`},
		{"missing spec", map[string]any{"spec": "nope.json"}, "reading the spec"},
		{"unknown spec key", map[string]any{"spec": bad}, `unknown field "typo"`},
		{"unknown config key", map[string]any{"spec": "spec.json", "label": true}, `config: label: unknown key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sdktest.Serve(t, newPlugin())
			err := c.Init(t.Context(), tt.config)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Init: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestMatcher(t *testing.T) {
	m := newMatcher([]string{"he", "she", "his", "hers", "stone", "café"}, []string{"HE", "SHE", "HIS", "HERS", "STONE", "CAFE"})
	tests := []struct {
		text string
		want []string
	}{
		{"ushers", nil}, // inside a word
		{"she sells his hers", []string{"SHE", "HIS", "HERS"}},
		{"he-she", []string{"HE", "SHE"}},
		{"stones stone", []string{"STONE"}},
		{"un café noir", []string{"CAFE"}},
		{"", nil},
	}
	for _, tt := range tests {
		var got []string
		m.find(tt.text, func(v string) { got = append(got, v) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("find(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestConformance(t *testing.T) {
	recs, _ := catalogue(t)
	sdktest.Conformance(t, newPlugin(), sdktest.Options{Config: specConfig, Records: recs})
}

// TestAsPlugin builds this package, runs it as a real plugin process
// through package plugins, as a pipeline's classify stage does, and checks
// it answers as it does in process.
func TestAsPlugin(t *testing.T) {
	isolateUserCache(t)
	recs, want := catalogue(t)
	cfg := plugins.DefaultConfig()
	cfg.Source = "."
	cfg.Instances = 2
	cfg.Config = specConfig
	cfg.BatchSize = 16
	pool, err := plugins.Start(t.Context(), cfg, "labelled", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(t.Context())
	in := make([]stage.Record, len(recs))
	for i, r := range recs {
		in[i] = stage.Record{Data: r.Data, Fields: r.Fields, Type: stage.XML}
		if r.Kind == sdk.CSV {
			in[i].Type, in[i].Header = stage.CSV, stage.NewHeader(r.Header.Names)
		}
	}
	got, err := pool.Classify(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].Err != nil || got[i].Category != want[i] {
			t.Errorf("record %d: got %q (%v), want %q", i, got[i].Category, got[i].Err, want[i])
		}
	}
	if d := pool.Description(); d.Name != "catalog" || d.Accepts != stage.XML|stage.CSV {
		t.Errorf("Description() = %+v", d)
	}
}

// isolateUserCache keeps the plugin build out of the user's cache
// directory, and Go's own caches where they are.
func isolateUserCache(t *testing.T) {
	out, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Setenv("GOCACHE", lines[0])
	t.Setenv("GOMODCACHE", lines[1])
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
}
