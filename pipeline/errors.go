package pipeline

import (
	"fmt"
	"sort"
	"strings"

	suggestpkg "github.com/sluicehq/sluice/internal/suggest"
)

// Error is a problem in a pipeline file, at a position. Its text is
// "file:line:col: stage "name": message", leaving out what is not known.
type Error struct {
	File  string
	Line  int
	Col   int
	Stage string // "" for problems outside any stage
	Msg   string
	// Trace lists the places inside templates behind the problem, outermost
	// first: the template stage that a use site expands to, or where a
	// template refers to a parameter whose value is wrong. File, Line and
	// Col are then the use site, in the file the user wrote.
	Trace []Location
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
		b.WriteString(": ")
	}
	if e.Stage != "" {
		fmt.Fprintf(&b, "stage %q: ", e.Stage)
	}
	b.WriteString(e.Msg)
	for i, t := range e.Trace {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString(", ")
		}
		b.WriteString("template " + t.String())
		if i == len(e.Trace)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// ErrorList collects every problem found in a pipeline, so that one run of
// validate reports them all. Use Err to turn it into an error: a nil or
// empty list gives a nil error, never a typed nil.
type ErrorList []*Error

// Add appends an error.
func (l *ErrorList) Add(e *Error) { *l = append(*l, e) }

// Sort orders the list by file, line and column, keeping the order of
// errors at the same position.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Error joins the messages, one per line.
func (l ErrorList) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Err returns nil for an empty list and the list otherwise.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// suggest returns ` (did you mean "x"?)` when one of candidates is close to
// word, or "".
func suggest(word string, candidates []string) string {
	if best, ok := suggestpkg.Closest(word, candidates); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
