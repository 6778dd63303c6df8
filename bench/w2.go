package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// W2 (../shared/peers/README.md) is the W1 catalogue as CSV: each row's
// category is its type, then /numbered when its title holds an ASCII
// digit, else /plain; the rows are counted per category (counts.csv:
// category,count) and written unchanged, with the header, to
// sorted/<type>__<numbered|plain>.csv. This file holds its peers and its
// check.

// duckdbNodeAPI is the DuckDB package bench installs with npm, pinned so
// that every run measures the same DuckDB (this release carries DuckDB
// 1.5.6 and its binary for the platform).
const duckdbNodeAPI = "@duckdb/node-api@1.5.6-r.1"

// w2Peers returns W2's peers on corpus: DuckDB through its Node API (all
// threads), Miller 6, and Python's csv module in one process. A peer whose
// program or runtime is missing, and cannot be installed here, comes back
// with skipped set to "missing (why)".
func (c *config) w2Peers(ctx context.Context, corpus string) []peer {
	read := func(outDir string, files bool) (*result, error) { return readCSVOutputs(outDir, files, c.workers) }
	duck := peer{name: "duckdb (node-api)", read: read}
	mlr := peer{name: "miller (mlr)", read: read}
	py := peer{name: "python csv", read: read}
	if c.peers == "" {
		for _, p := range []*peer{&duck, &mlr, &py} {
			p.skipped = "missing (peers absent)"
		}
		return []peer{duck, mlr, py}
	}
	script := func(name string) (string, string) {
		path := filepath.Join(c.peers, name)
		if _, err := os.Stat(path); err != nil {
			return path, fmt.Sprintf("missing (no %s in %s)", name, c.peers)
		}
		return path, ""
	}

	js, why := script("w2_duckdb.js")
	modules := ""
	if why == "" {
		modules, why = c.installDuckDB(ctx)
	}
	duck.skipped = why
	duck.cmd = func(outDir string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "node", js, corpus, outDir)
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		return cmd
	}

	sh, why := script("w2_mlr.sh")
	if why == "" {
		if _, err := exec.LookPath("mlr"); err != nil {
			why = "missing (no mlr: apt-get install -y miller)"
		} else if out, err := exec.CommandContext(ctx, "mlr", "--version").CombinedOutput(); err != nil {
			why = fmt.Sprintf("missing (mlr --version: %v)", err)
		} else if v := strings.TrimSpace(string(out)); !strings.HasPrefix(v, "mlr 6") {
			why = fmt.Sprintf("missing (%s: w2_mlr.sh needs Miller 6)", v)
		} else {
			c.say("miller: %s", v)
		}
	}
	mlr.skipped = why
	mlr.cmd = func(outDir string) *exec.Cmd { return exec.CommandContext(ctx, "sh", sh, corpus, outDir) }

	pyScript, why := script("w2_python.py")
	if why == "" {
		if out, err := exec.CommandContext(ctx, c.python, "--version").CombinedOutput(); err != nil {
			why = fmt.Sprintf("missing (%s --version: %v)", c.python, err)
		} else {
			c.say("python: %s, %s", c.python, strings.TrimSpace(string(out)))
		}
	}
	py.skipped = why
	py.cmd = func(outDir string) *exec.Cmd { return exec.CommandContext(ctx, c.python, pyScript, corpus, outDir) }
	return []peer{duck, mlr, py}
}

// installDuckDB makes sure that node can load duckdbNodeAPI, installing it
// with npm into DIR/node (git-ignored with the rest of --dir) when it is
// not there yet, and returns the node_modules folder for NODE_PATH; or
// why it cannot, as a table entry.
func (c *config) installDuckDB(ctx context.Context) (modules, why string) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", "missing (no node: apt-get install -y nodejs npm)"
	}
	dir := filepath.Join(c.dir, "node")
	modules = filepath.Join(dir, "node_modules")
	name, version, _ := strings.Cut(strings.TrimPrefix(duckdbNodeAPI, "@"), "@")
	var pkg struct{ Version string }
	b, err := os.ReadFile(filepath.Join(modules, "@"+name, "package.json"))
	if err == nil {
		err = json.Unmarshal(b, &pkg)
	}
	if err != nil || pkg.Version != version {
		if _, err := exec.LookPath("npm"); err != nil {
			return "", "missing (no npm: apt-get install -y npm)"
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Sprintf("missing (%v)", err)
		}
		c.say("duckdb: installing %s with npm into %s", duckdbNodeAPI, dir)
		cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "--no-audit", "--no-fund", duckdbNodeAPI)
		if out, err := cmd.CombinedOutput(); err != nil {
			c.say("duckdb: npm install failed: %v\n%s", err, out)
			return "", fmt.Sprintf("missing (npm install %s failed: %s)", duckdbNodeAPI, lastLine(string(out), err))
		}
	}
	cmd := exec.CommandContext(ctx, "node", "-e", "require('@duckdb/node-api'); console.log(process.version)")
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("missing (node cannot load %s: %s)", duckdbNodeAPI, lastLine(string(out), err))
	}
	c.say("duckdb: %s from %s, node %s", duckdbNodeAPI, modules, strings.TrimSpace(string(out)))
	return modules, ""
}

// fileDigest is one W2 category file reduced to what the check compares:
// its header, its number of rows, and the multiset of its rows as a sum,
// lane by lane (4 × 64 bits, wrapping), of each row's SHA-256 (over its
// fields as encoding/csv decodes them, each length-prefixed). A sum does
// not depend on the rows' order (Sluice on several workers, DuckDB on
// several threads, write rows in any order) and takes constant memory
// however many rows there are; quoting and line ends are not part of it,
// as the peers' writers quote differently.
type fileDigest struct {
	Header []string
	Rows   int64
	Sum    [4]uint64
}

// add counts one row.
func (d *fileDigest) add(fields []string, buf []byte) []byte {
	buf = buf[:0]
	for _, f := range fields {
		buf = binary.AppendUvarint(buf, uint64(len(f)))
		buf = append(buf, f...)
	}
	h := sha256.Sum256(buf)
	for i := range d.Sum {
		d.Sum[i] += binary.LittleEndian.Uint64(h[8*i:])
	}
	d.Rows++
	return buf
}

// merge adds e's rows to d (DuckDB may write a category in several
// files); their headers must be the same.
func (d *fileDigest) merge(e fileDigest) error {
	if d.Header == nil {
		d.Header = e.Header
	} else if !slices.Equal(d.Header, e.Header) {
		return fmt.Errorf("headers %q and %q", d.Header, e.Header)
	}
	d.Rows += e.Rows
	for i := range d.Sum {
		d.Sum[i] += e.Sum[i]
	}
	return nil
}

// csvFileName is the category file W2 writes a category to: "book/plain"
// goes to book__plain.csv.
func csvFileName(category string) string {
	return strings.ReplaceAll(category, "/", "__") + ".csv"
}

// w2Category is W2's category of a row: its type ("unknown" when empty,
// as a missing type is in W1; the peers' corpus always has one), then
// /numbered when the title holds an ASCII digit, else /plain.
func w2Category(typ, title string) string {
	if typ == "" {
		typ = "unknown"
	}
	if strings.ContainsAny(title, "0123456789") {
		return typ + "/numbered"
	}
	return typ + "/plain"
}

// newCSVReader reads CSV as the peers and Sluice write it (RFC 4180,
// every row as long as the header).
func newCSVReader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.ReuseRecord = true
	return cr
}

// expectedCSV computes W2 over a corpus with encoding/csv alone: the
// independent computation that Sluice's outputs are checked against when
// the peers are absent, and in the tests.
func expectedCSV(corpus string) (*result, error) {
	f, err := os.Open(corpus)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := newCSVReader(f)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: header: %w", corpus, err)
	}
	header = slices.Clone(header)
	ti, yi := slices.Index(header, "type"), slices.Index(header, "title")
	if ti < 0 || yi < 0 {
		return nil, fmt.Errorf("%s: no type or title column in %q", corpus, header)
	}
	res := &result{Categories: map[string]int64{}, Digests: map[string]*fileDigest{}}
	var buf []byte
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", corpus, err)
		}
		cat := w2Category(row[ti], row[yi])
		res.Records++
		res.Categories[cat]++
		name := csvFileName(cat)
		d := res.Digests[name]
		if d == nil {
			d = &fileDigest{Header: header}
			res.Digests[name] = d
		}
		buf = d.add(row, buf)
	}
	return res, nil
}

// readCSVFile digests one category file: its first row is the header.
func readCSVFile(path string) (fileDigest, error) {
	var d fileDigest
	f, err := os.Open(path)
	if err != nil {
		return d, err
	}
	defer f.Close()
	cr := newCSVReader(f)
	var buf []byte
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return d, nil
		}
		if err != nil {
			return d, fmt.Errorf("read %s: %w", path, err)
		}
		if d.Header == nil {
			d.Header = slices.Clone(row)
			continue
		}
		buf = d.add(row, buf)
	}
}

// readCSVOutputs reads W2's outputs in dir, whoever wrote them: counts.csv
// (category,count) and, when files is set, the category files under
// sorted/, either flat (sorted/book__plain.csv: Sluice, Miller, Python) or
// in DuckDB's hive layout (sorted/category=book%2Fplain/data_0.csv), read
// on up to workers goroutines.
func readCSVOutputs(dir string, files bool, workers int) (*result, error) {
	res := &result{Categories: map[string]int64{}}
	path := filepath.Join(dir, "counts.csv")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], []string{"category", "count"}) {
		return nil, fmt.Errorf("%s: want the header category,count", path)
	}
	for _, r := range rows[1:] {
		var n int64
		if _, err := fmt.Sscan(r[1], &n); err != nil {
			return nil, fmt.Errorf("%s: count %q: %w", path, r[1], err)
		}
		if _, dup := res.Categories[r[0]]; dup {
			return nil, fmt.Errorf("%s: category %q twice", path, r[0])
		}
		res.Categories[r[0]] = n
		res.Records += n
	}
	if !files {
		return res, nil
	}
	sorted := filepath.Join(dir, "sorted")
	flat, err := filepath.Glob(filepath.Join(sorted, "*.csv"))
	if err != nil {
		return nil, err
	}
	hive, err := filepath.Glob(filepath.Join(sorted, "*=*", "*.csv"))
	if err != nil {
		return nil, err
	}
	if len(flat) > 0 && len(hive) > 0 {
		return nil, fmt.Errorf("%s holds both category files and DuckDB's category=... folders", sorted)
	}
	type file struct{ path, name string }
	var todo []file
	for _, p := range flat {
		todo = append(todo, file{p, filepath.Base(p)})
	}
	for _, p := range hive {
		_, enc, _ := strings.Cut(filepath.Base(filepath.Dir(p)), "=")
		cat, err := url.PathUnescape(enc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		todo = append(todo, file{p, csvFileName(cat)})
	}
	res.Digests = map[string]*fileDigest{}
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, max(workers, 1))
	var wg sync.WaitGroup
	for _, f := range todo {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			d, err := readCSVFile(f.path)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				if res.Digests[f.name] == nil {
					res.Digests[f.name] = &fileDigest{}
				}
				if err = res.Digests[f.name].merge(d); err != nil {
					err = fmt.Errorf("%s: %w", f.path, err)
				}
			}
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return res, nil
}

// diffDigests lists how got's category files differ from want's.
func diffDigests(want, got map[string]*fileDigest) []string {
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []string
	for _, n := range names {
		w, g := want[n], got[n]
		switch {
		case w == nil:
			out = append(out, fmt.Sprintf("file %s: unexpected (%d rows)", n, g.Rows))
		case g == nil:
			out = append(out, fmt.Sprintf("file %s: missing (%d rows)", n, w.Rows))
		default:
			if !slices.Equal(w.Header, g.Header) {
				out = append(out, fmt.Sprintf("file %s: header %q, want %q", n, g.Header, w.Header))
			}
			if w.Rows != g.Rows || w.Sum != g.Sum {
				out = append(out, fmt.Sprintf("file %s: %d rows, want %d; rows differ as multisets", n, g.Rows, w.Rows))
			}
		}
	}
	return out
}
