package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sluicehq/sluice/pipeline"
	"github.com/sluicehq/sluice/stage"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The journal of a commit lives in the directory of the commit's first
// output, under journalPrefix + run id + ".json". Previous outputs that a
// commit replaces are kept beside them under "." + name + backupInfix +
// run id until the commit is over.
const (
	journalPrefix = ".sluice-commit-"
	backupInfix   = ".sluice-old-"
	// FailedInfix joins a dead-letter file's path and the run id in the
	// name its records are kept under when the run fails: a failed run's
	// "dead-letters/x.jsonl" becomes "dead-letters/x.jsonl.failed-<run id>".
	FailedInfix = ".failed-"
)

// Journal states, in the journal's "state" key.
const (
	stateCommitting  = "committing"   // renames under way; recovery rolls forward if it can
	stateCommitted   = "committed"    // every rename made: only cleanup is left
	stateRollingBack = "rolling_back" // the commit failed and is being undone
)

// journal is the on-disk record of a commit, enough to finish or undo it
// without the stages that planned it.
type journal struct {
	Version  int            `json:"version"`
	Run      string         `json:"run"`
	Pipeline string         `json:"pipeline,omitempty"`
	File     string         `json:"file,omitempty"`
	PID      int            `json:"pid"`
	Started  time.Time      `json:"started"`
	State    string         `json:"state"`
	Entries  []journalEntry `json:"entries"`
	Cleanup  []string       `json:"cleanup,omitempty"`

	path   string  // where the journal is
	dir    string  // its directory, synced after each change
	faults *faults // fault injection for tests; nil in production
}

// journalEntry is one output. Backup is where Final's previous file is
// kept during the commit ("" when there was none); KeepAs is where Temp
// goes, rather than being removed, when the commit is undone (a failed
// run's dead letters).
type journalEntry struct {
	Temp   string `json:"temp,omitempty"`
	Final  string `json:"final"`
	Backup string `json:"backup,omitempty"`
	KeepAs string `json:"keep_as,omitempty"`
}

// Recovery says what became of a commit that an earlier run left
// unfinished (it was killed during the commit).
type Recovery struct {
	// Journal is the journal file that recorded the commit.
	Journal string `json:"journal"`
	// Run is the id of the run that made the commit; Pipeline its
	// pipeline's name.
	Run      string `json:"run"`
	Pipeline string `json:"pipeline,omitempty"`
	// Finished is true when the commit was completed (every output of that
	// run is now final), false when it was undone (the outputs before it
	// are back).
	Finished bool `json:"finished"`
	// Outputs is the number of outputs the commit had.
	Outputs int `json:"outputs"`
}

// String says what was done, in a sentence for the log or a summary.
func (r Recovery) String() string {
	name := r.Run
	if r.Pipeline != "" {
		name = fmt.Sprintf("%s of pipeline %s", r.Run, r.Pipeline)
	}
	if r.Finished {
		return fmt.Sprintf("run %s was stopped while committing its outputs; its commit was finished: its %d outputs are final (journal %s)", name, r.Outputs, r.Journal)
	}
	return fmt.Sprintf("run %s was stopped while committing its outputs; its commit was undone: the outputs before it are back (journal %s)", name, r.Journal)
}

// newRunID returns a run id: the UTC time and 6 random hex digits, such as
// 20261207T230544Z-3fa9c1. It sorts by time and is unique in practice.
func newRunID(t time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// committer runs one commit: the plans of a run's stages made final at
// once, under a journal.
type committer struct {
	j journal
}

// commitPlans makes every output of plans final, or none: if any step
// fails, what was done is undone and the previous outputs are back. keep
// maps a temp to the name it keeps when the commit is undone (dead
// letters). The journal lets a later recovery finish or undo the commit if
// the process dies during it; it goes in the first of dirs that holds an
// output (where Recover looks), else beside the first output. A failure after every output is final (when
// only backups and the journal are left to remove) is returned as a
// *CleanupError: the commit happened.
func commitPlans(meta journal, plans []stage.CommitPlan, keep map[string]string, dirs []string) error {
	c := &committer{j: meta}
	c.j.faults = faultsFromEnv()
	c.j.Version, c.j.PID, c.j.State = 1, os.Getpid(), stateCommitting
	if err := c.plan(plans, keep, dirs); err != nil {
		return err
	}
	if len(c.j.Entries) == 0 {
		return c.j.removeCleanup()
	}
	unlock, err := lockDir(c.j.dir)
	if err != nil {
		return fmt.Errorf("commit: lock %s: %w", c.j.dir, err)
	}
	defer unlock()
	if err := c.j.do("write journal", func() error { return c.j.write() }); err != nil {
		c.removeTemps()
		return fmt.Errorf("commit: write journal %s: %w; no output was changed", c.j.path, err)
	}
	if err := c.forward(); err != nil {
		if uerr := c.undo(); uerr != nil {
			return fmt.Errorf("commit: %w; undoing it failed too: %v; the journal %s is left: run `sluice recover` once the cause is fixed", err, uerr, c.j.path)
		}
		return fmt.Errorf("commit: %w; it was undone: the previous outputs are as they were", err)
	}
	if err := c.j.cleanUp(); err != nil {
		return &CleanupError{Journal: c.j.path, Err: err}
	}
	return nil
}

// CleanupError is returned when a commit made every output final but
// could not remove what it kept meanwhile (the previous outputs, the
// journal). The next run, or `sluice recover`, removes them.
type CleanupError struct {
	Journal string
	Err     error
}

func (e *CleanupError) Error() string {
	return fmt.Sprintf("outputs committed, but cleaning up after the commit failed: %v; the next run or `sluice recover` finishes it (journal %s)", e.Err, e.Journal)
}

func (e *CleanupError) Unwrap() error { return e.Err }

// plan checks the plans and fills the journal's entries: every final path
// once, no final that is a directory, every temp present. Nothing is
// changed on disk.
func (c *committer) plan(plans []stage.CommitPlan, keep map[string]string, dirs []string) error {
	seen := map[string]bool{}
	for _, p := range plans {
		for _, rn := range p.Renames {
			final, err := filepath.Abs(rn.Final)
			if err != nil {
				return fmt.Errorf("commit %s: %w", rn.Final, err)
			}
			if seen[final] {
				return fmt.Errorf("commit: %s is the output of two stages; give each its own", rn.Final)
			}
			seen[final] = true
			e := journalEntry{Final: final}
			if rn.Temp != "" {
				if e.Temp, err = filepath.Abs(rn.Temp); err != nil {
					return fmt.Errorf("commit %s: %w", rn.Final, err)
				}
				if _, err := os.Lstat(e.Temp); err != nil {
					return fmt.Errorf("commit %s: staged file: %w", rn.Final, err)
				}
				if k := keep[rn.Temp]; k != "" {
					e.KeepAs, _ = filepath.Abs(k)
				}
			}
			fi, err := os.Lstat(final)
			switch {
			case err == nil && fi.IsDir():
				return fmt.Errorf("commit: output %s is a directory; move it away or choose another output name", rn.Final)
			case err == nil:
				e.Backup = filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+backupInfix+c.j.Run)
			case !errors.Is(err, os.ErrNotExist):
				return fmt.Errorf("commit %s: %w", rn.Final, err)
			case e.Temp == "":
				continue // nothing to remove
			}
			c.j.Entries = append(c.j.Entries, e)
		}
		for _, d := range p.Cleanup {
			abs, err := filepath.Abs(d)
			if err != nil {
				return fmt.Errorf("commit: %w", err)
			}
			c.j.Cleanup = append(c.j.Cleanup, abs)
		}
	}
	for _, e := range c.j.Entries {
		if slices.Contains(dirs, filepath.Dir(e.Final)) {
			c.j.dir = filepath.Dir(e.Final)
			break
		}
	}
	if c.j.dir == "" && len(c.j.Entries) > 0 {
		c.j.dir = filepath.Dir(c.j.Entries[0].Final)
	}
	c.j.path = filepath.Join(c.j.dir, journalPrefix+c.j.Run+".json")
	return nil
}

// forward makes every rename, keeping what each replaces, then syncs the
// directories and records that the commit is done.
func (c *committer) forward() error {
	for _, e := range c.j.Entries {
		if e.Backup != "" {
			if err := c.j.do("keep "+e.Final, func() error { return os.Rename(e.Final, e.Backup) }); err != nil {
				return fmt.Errorf("keep the previous %s: %w", e.Final, err)
			}
		}
		if e.Temp != "" {
			if err := c.j.do("rename "+e.Final, func() error { return os.Rename(e.Temp, e.Final) }); err != nil {
				return fmt.Errorf("rename %s into place: %w", e.Final, err)
			}
		}
	}
	if err := c.j.syncDirs(); err != nil {
		return err
	}
	c.j.State = stateCommitted
	return c.j.do("record commit", c.j.write)
}

// undo takes the commit back (live, after a failed step).
func (c *committer) undo() error {
	c.j.State = stateRollingBack
	c.j.do("record undo", c.j.write) // if this fails, recovery decides from the files, as it can
	return c.j.rollBack()
}

// removeTemps removes the staged files of a commit that never started,
// except those kept under another name.
func (c *committer) removeTemps() {
	for _, e := range c.j.Entries {
		if e.Temp != "" {
			settleTemp(e)
		}
	}
	c.j.removeCleanup()
}

// do runs one step of a commit or a recovery, through the fault injector
// in tests.
func (j *journal) do(name string, f func() error) error {
	if err := j.faults.at(name); err != nil {
		return err
	}
	return f()
}

// rollBack undoes every entry, last first: an output renamed into place
// is removed (or moved to KeepAs) and the previous file comes back; then
// the staged files are removed (or moved to KeepAs) with the staging
// directories, and the journal. It never needs a staging directory, so it
// works after the stages have aborted. Each step looks at the files, so it can be
// repeated after a crash at any point.
func (j *journal) rollBack() error {
	for i := len(j.Entries) - 1; i >= 0; i-- {
		e := j.Entries[i]
		if e.Temp != "" && !exists(e.Temp) && exists(e.Final) && (e.Backup == "" || exists(e.Backup)) {
			// The run's file is in place: take it away (to KeepAs, or
			// removed), without needing its staging directory.
			take := func() error { return os.Remove(e.Final) }
			if e.KeepAs != "" {
				take = func() error { return os.Rename(e.Final, e.KeepAs) }
			}
			if err := j.do("take back "+e.Final, take); err != nil {
				return fmt.Errorf("take %s back: %w", e.Final, err)
			}
		}
		if e.Backup != "" && exists(e.Backup) {
			if err := j.do("restore "+e.Final, func() error { return os.Rename(e.Backup, e.Final) }); err != nil {
				return fmt.Errorf("restore the previous %s: %w", e.Final, err)
			}
		}
	}
	for _, e := range j.Entries {
		if e.Temp != "" && exists(e.Temp) {
			if err := j.do("settle "+e.Temp, func() error { return settleTemp(e) }); err != nil {
				return err
			}
		}
	}
	if err := j.do("remove staging", j.removeCleanup); err != nil {
		return err
	}
	return j.do("remove journal", j.remove)
}

// rollForward completes every entry not yet done (after a crash), then
// cleans up.
func (j *journal) rollForward() error {
	for _, e := range j.Entries {
		if e.Backup != "" && !exists(e.Backup) && exists(e.Final) {
			if err := j.do("keep "+e.Final, func() error { return os.Rename(e.Final, e.Backup) }); err != nil {
				return fmt.Errorf("keep the previous %s: %w", e.Final, err)
			}
		}
		if e.Temp != "" && exists(e.Temp) {
			if err := j.do("rename "+e.Final, func() error { return os.Rename(e.Temp, e.Final) }); err != nil {
				return fmt.Errorf("rename %s into place: %w", e.Final, err)
			}
		}
	}
	if err := j.syncDirs(); err != nil {
		return err
	}
	j.State = stateCommitted
	if err := j.do("record commit", j.write); err != nil {
		return err
	}
	return j.cleanUp()
}

// syncDirs syncs the directories of the outputs, each once.
func (j *journal) syncDirs() error {
	var dirs []string
	for _, e := range j.Entries {
		if d := filepath.Dir(e.Final); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		if err := j.do("sync "+d, func() error { return syncDir(d) }); err != nil {
			return err
		}
	}
	return nil
}

// cleanUp removes the previous outputs kept, the staging directories and
// the journal of a commit that is done.
func (j *journal) cleanUp() error {
	for _, e := range j.Entries {
		if e.Backup != "" && exists(e.Backup) {
			if err := j.do("remove "+e.Backup, func() error { return removeIfExists(e.Backup) }); err != nil {
				return err
			}
		}
	}
	if err := j.do("remove staging", j.removeCleanup); err != nil {
		return err
	}
	return j.do("remove journal", j.remove)
}

// canRollForward reports whether every entry is either done or still has
// its staged file: otherwise some output of the run is lost, and only
// undoing the commit gives a consistent set.
func (j *journal) canRollForward() bool {
	for _, e := range j.Entries {
		if e.Temp == "" || exists(e.Temp) {
			continue
		}
		if e.Backup != "" && !exists(e.Backup) {
			return false // neither the new file's stage nor the old one's keep: not done
		}
	}
	return true
}

// settleTemp removes e's staged file, or moves it to KeepAs.
func settleTemp(e journalEntry) error {
	if e.KeepAs != "" && exists(e.Temp) {
		if err := os.Rename(e.Temp, e.KeepAs); err != nil {
			return fmt.Errorf("keep %s as %s: %w", e.Temp, e.KeepAs, err)
		}
		return nil
	}
	return removeIfExists(e.Temp)
}

func (j *journal) removeCleanup() error {
	for _, d := range j.Cleanup {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("remove staging directory: %w", err)
		}
	}
	return nil
}

// write replaces the journal atomically (a temporary file, synced, renamed,
// and the directory synced), so that a journal on disk is always whole.
func (j *journal) write() error {
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	tmp := j.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, j.path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(j.dir)
}

func (j *journal) remove() error {
	if err := removeIfExists(j.path); err != nil {
		return fmt.Errorf("remove journal: %w", err)
	}
	return syncDir(j.dir)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// syncDir makes the renames in dir durable; systems that cannot sync a
// directory are not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !isSyncUnsupported(err) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Recover finishes or undoes the commits that runs writing g's outputs
// left unfinished because they were killed during their commit, and says
// which. It looks for journals in the directories of g's outputs (each
// output path and its parent). A journal is rolled forward (every output
// of its run made final) when every output not yet in place still has its
// staged file and the commit was not being undone; otherwise it is rolled
// back (the outputs before that commit restored). A commit in progress in
// another live process (its directory is locked) is left alone. Recovering
// is idempotent: a recovery stopped at any point can be run again.
func Recover(g *pipeline.Graph) ([]Recovery, error) {
	var out []Recovery
	var errs []error
	for _, dir := range journalDirs(g) {
		names, _ := filepath.Glob(filepath.Join(dir, journalPrefix+"*.json"))
		torn, _ := filepath.Glob(filepath.Join(dir, journalPrefix+"*.json.tmp"))
		if len(names)+len(torn) == 0 {
			continue
		}
		unlock, ok, err := tryLockDir(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("recover: lock %s: %w", dir, err))
			continue
		}
		if !ok {
			continue // a live commit; it is not ours to touch
		}
		for _, name := range torn {
			os.Remove(name) // a journal being written when its run died: no rename had begun
		}
		for _, name := range names {
			rec, err := recoverJournal(name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, rec)
		}
		unlock()
	}
	return out, errors.Join(errs...)
}

// journalDirs are the directories where a run of g may have left a
// journal: every output path of g and its parent.
func journalDirs(g *pipeline.Graph) []string {
	var dirs []string
	for _, p := range g.Outputs {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		for _, d := range []string{abs, filepath.Dir(abs)} {
			if !slices.Contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	return dirs
}

func recoverJournal(path string) (Recovery, error) {
	fail := func(err error) (Recovery, error) {
		return Recovery{}, fmt.Errorf("recover the interrupted commit of %s: %w; fix the cause and run `sluice recover`", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil {
		return fail(fmt.Errorf("journal is not valid JSON (%v): inspect it and the files it names by hand", err))
	}
	if j.Version != 1 {
		return fail(fmt.Errorf("journal version %d is not known to this sluice", j.Version))
	}
	j.path, j.dir, j.faults = path, filepath.Dir(path), faultsFromEnv()
	rec := Recovery{Journal: path, Run: j.Run, Pipeline: j.Pipeline, Outputs: len(j.Entries)}
	switch {
	case j.State == stateCommitted:
		rec.Finished = true
		err = j.cleanUp()
	case j.State == stateCommitting && j.canRollForward():
		rec.Finished = true
		err = j.rollForward()
	case j.State == stateCommitting || j.State == stateRollingBack:
		j.State = stateRollingBack
		if err = j.do("record undo", j.write); err == nil {
			err = j.rollBack()
		}
	default:
		return fail(fmt.Errorf("journal state %q is not known to this sluice", j.State))
	}
	if err != nil {
		return fail(err)
	}
	return rec, nil
}

// faults injects failures and kills into commit steps, for tests that run
// a real sluice process built with the sluicefaults build tag (see
// faultsFromEnv); production builds have none. Steps are counted from 1
// within one commit, or one recovery of a journal.
type faults struct {
	n      int
	action string
	seen   int
}

// ErrInjected is the error of a step failed by fault injection.
var ErrInjected = errors.New("injected fault")

func (f *faults) at(name string) error {
	if f == nil {
		return nil
	}
	f.seen++
	if f.action == "trace" {
		fmt.Fprintf(os.Stderr, "commit step %d: %s\n", f.seen, name)
		return nil
	}
	if f.seen != f.n {
		return nil
	}
	switch f.action {
	case "kill":
		killSelf()
	case "stall":
		fmt.Fprintf(os.Stderr, "commit stalled at step %d (%s)\n", f.n, name)
		time.Sleep(2 * time.Second)
		return nil
	}
	return fmt.Errorf("%w at commit step %d (%s)", ErrInjected, f.n, name)
}

// Commit prepares each of cs and commits their plans as one, as Run does
// at the end of a run (the journal goes beside the first output): on
// success it calls Committed on each, otherwise Abort on each. It is for
// driving stages outside Run, as package stagetest does.
func Commit(ctx context.Context, cs ...stage.Committer) error {
	var plans []stage.CommitPlan
	err := func() error {
		for _, c := range cs {
			p, err := c.Prepare(ctx)
			if err != nil {
				return err
			}
			plans = append(plans, p)
		}
		return commitPlans(journal{Run: newRunID(time.Now()), Started: time.Now()}, plans, nil, nil)
	}()
	var ce *CleanupError
	if err != nil && !errors.As(err, &ce) {
		for _, c := range cs {
			c.Abort()
		}
		return err
	}
	errs := []error{err}
	for _, c := range cs {
		errs = append(errs, c.Committed())
	}
	return errors.Join(errs...)
}
