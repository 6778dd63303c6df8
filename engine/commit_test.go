package engine

import (
	"github.com/sluicehq/sluice/pipeline"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// journalCase writes a journal for one output in a fresh directory that
// graph g writes, with the output's previous content kept aside and the
// new one staged, as a kill after "keep" leaves them.
func journalCase(t *testing.T, journalText string) (g *pipeline.Graph, dir, journalPath string) {
	t.Helper()
	dir = t.TempDir()
	g = &pipeline.Graph{Outputs: []string{filepath.Join(dir, "out.txt")}}
	journalPath = filepath.Join(dir, journalPrefix+"r1.json")
	for name, text := range map[string]string{".out.txt" + backupInfix + "r1": "old\n", ".out.txt.tmp-1": "new\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(journalPath, []byte(strings.ReplaceAll(journalText, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return g, dir, journalPath
}

const keptJournal = `{"version": 1, "run": "r1", "pid": 1, "state": "committing",
 "entries": [{"temp": "DIR/.out.txt.tmp-1", "final": "DIR/out.txt", "backup": "DIR/.out.txt.sluice-old-r1"}]}`

// TestRecoverLeavesLiveCommit: a journal whose directory is locked belongs
// to a commit in progress in another process; Recover leaves it and its
// files alone.
func TestRecoverLeavesLiveCommit(t *testing.T) {
	g, dir, jp := journalCase(t, keptJournal)
	unlock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := Recover(g)
	if err != nil || len(recs) != 0 {
		t.Fatalf("Recover of a locked commit: %v, %v", recs, err)
	}
	if !exists(jp) || !exists(filepath.Join(dir, ".out.txt.tmp-1")) || exists(filepath.Join(dir, "out.txt")) {
		t.Fatal("Recover touched a commit in progress")
	}
	unlock()
	torn := filepath.Join(dir, journalPrefix+"r2.json.tmp") // a journal being written when its run died
	os.WriteFile(torn, []byte(`{"ver`), 0o644)
	recs, err = Recover(g)
	if err != nil || len(recs) != 1 || !recs[0].Finished {
		t.Fatalf("Recover once unlocked: %v, %v", recs, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out.txt")); string(b) != "new\n" || exists(jp) || exists(torn) {
		t.Fatalf("out.txt = %q, journal left: %v, torn journal left: %v", b, exists(jp), exists(torn))
	}
}

// TestRecoverRefusesBadJournals: a journal that cannot be read, or that a
// later sluice wrote, is an error naming it and what to do; no file is
// touched.
func TestRecoverRefusesBadJournals(t *testing.T) {
	for name, tc := range map[string]struct{ text, want string }{
		"truncated":     {keptJournal[:40], "journal is not valid JSON"},
		"version":       {strings.Replace(keptJournal, `"version": 1`, `"version": 7`, 1), "journal version 7 is not known"},
		"unknown state": {strings.Replace(keptJournal, `"committing"`, `"paused"`, 1), `journal state "paused" is not known`},
	} {
		t.Run(name, func(t *testing.T) {
			g, dir, jp := journalCase(t, tc.text)
			_, err := Recover(g)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), jp) ||
				!strings.Contains(err.Error(), "sluice recover") {
				t.Fatalf("error %v, want one naming %s and saying %q", err, jp, tc.want)
			}
			if !exists(jp) || !exists(filepath.Join(dir, ".out.txt.tmp-1")) || !exists(filepath.Join(dir, ".out.txt"+backupInfix+"r1")) {
				t.Fatal("Recover changed files of a journal it cannot read")
			}
		})
	}
}
