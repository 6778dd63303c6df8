package stage

// CommitPlan is what a Committer hands the runner: the renames that make
// its outputs final, and the directories it staged them in.
type CommitPlan struct {
	// Renames move staged files to their final paths, replacing what is
	// there. A Rename with an empty Temp removes Final instead (an output
	// of an earlier run that this run does not produce).
	Renames []Rename
	// Cleanup lists directories the stage made for staging. They are
	// removed, with whatever they still hold, once the commit is over,
	// whatever its outcome.
	Cleanup []string
}

// Rename is one output of a commit: the staged file Temp becomes Final.
type Rename struct {
	Temp, Final string
}
