package xmlview

import (
	"errors"
	"testing"
)

func TestPathQueriesDoNotAllocate(t *testing.T) {
	var p Parser
	var path Path
	data := []byte(nsRecord)
	allocs := testing.AllocsPerRun(100, func() {
		tree, err := p.Lazy(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.CompilePath(&path, "{http://example.com/a/b}meta/@{urn:x}none"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := tree.Value(0, &path); ok || err != nil {
			t.Fatal("matched", err)
		}
		if err := tree.CompilePath(&path, "authors/author"); err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, err := tree.Next(0, &path, 0); i >= 0; i, err = tree.Next(0, &path, i+1) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if _, ok, err := tree.ElementAttr(0, "dc:note"); n != 2 || !ok || err != nil {
			t.Fatal(n, ok, err)
		}
	})
	if allocs != 0 {
		t.Errorf("path queries allocate %v times per record, want 0", allocs)
	}
}

func TestPathNextStaysBelowItsBase(t *testing.T) {
	var p Parser
	tree, err := p.Lazy([]byte(`<r><a><b>1</b></a><a/><a><c/><b>3</b></a></r>`))
	if err != nil {
		t.Fatal(err)
	}
	var as, b Path
	if err := errors.Join(tree.CompilePath(&as, "a"), tree.CompilePath(&b, "b")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, _ := tree.Next(0, &as, 0); i >= 0; i, _ = tree.Next(0, &as, i+1) {
		v, ok, err := tree.Value(i, &b)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			v = "-"
		}
		got = append(got, v)
	}
	if len(got) != 3 || got[0] != "1" || got[1] != "-" || got[2] != "3" {
		t.Errorf("b below each a = %q, want [1 - 3]", got)
	}
}
