package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// table looks values up in a tab-separated file that stays open: Init reads
// it once to index where each key's value is, and a lookup reads just that
// value, so the file can be far larger than memory. Recent answers are kept
// in a small cache guarded by a mutex. A table is safe for concurrent use.
type table struct {
	f     *os.File
	index map[string]span // key -> where its value is in f

	mu    sync.Mutex
	cache map[string]string
	limit int
}

type span struct{ off, n int64 }

// openTable opens path and indexes it. Lines are "key<TAB>value"; empty
// lines and lines starting with # are skipped.
func openTable(path string, cacheSize int) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	t := &table{f: f, index: map[string]span{}, cache: map[string]string{}, limit: max(cacheSize, 1)}
	r := bufio.NewReader(f)
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadBytes('\n')
		start := off
		off += int64(len(line))
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 && line[0] != '#' {
			k, v, ok := bytes.Cut(line, []byte("\t"))
			if !ok {
				f.Close()
				return nil, fmt.Errorf("%s:%d: want key<TAB>value, got %q", path, lineNo, line)
			}
			t.index[string(k)] = span{start + int64(len(k)) + 1, int64(len(v))}
		}
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// lookup returns key's value and whether the table has it.
func (t *table) lookup(key string) (string, bool, error) {
	sp, ok := t.index[key]
	if !ok {
		return "", false, nil
	}
	t.mu.Lock()
	v, hit := t.cache[key]
	t.mu.Unlock()
	if hit {
		return v, true, nil
	}
	buf := make([]byte, sp.n)
	if _, err := t.f.ReadAt(buf, sp.off); err != nil {
		return "", false, fmt.Errorf("reading %s: %w", t.f.Name(), err)
	}
	v = string(buf)
	t.mu.Lock()
	if len(t.cache) >= t.limit {
		clear(t.cache) // crude, and enough for a bounded cache
	}
	t.cache[key] = v
	t.mu.Unlock()
	return v, true, nil
}

func (t *table) Close() error { return t.f.Close() }
