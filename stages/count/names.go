package count

import "github.com/sluicehq/sluice/sdk/xmlview"

// nameFilter chooses the attributes that attributes mode counts (the
// exclude and only options). A name is an element's or an attribute's
// name in Clark notation ({uri}local, or local), or element@attribute for
// one attribute of one element. It is consulted only when an element's
// attributes are first met in a worker's element cache, so it costs
// nothing on records shaped like the ones before.
type nameFilter struct {
	exclude, only map[string]bool
}

// newNameFilter returns the filter of the exclude and only lists, or nil
// when both are empty (count everything).
func newNameFilter(exclude, only []string) *nameFilter {
	if len(exclude) == 0 && len(only) == 0 {
		return nil
	}
	set := func(names []string) map[string]bool {
		if len(names) == 0 {
			return nil
		}
		m := make(map[string]bool, len(names))
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	return &nameFilter{exclude: set(exclude), only: set(only)}
}

// counts reports whether attribute attr of element elem is counted: it is
// when only is empty or names the element, the attribute or the pair, and
// exclude names none of them.
func (f *nameFilter) counts(elem, attr xmlview.Name) bool {
	if f == nil {
		return true
	}
	e, a := clarkName(elem), clarkName(attr)
	pair := e + "@" + a
	if f.only != nil && !f.only[e] && !f.only[a] && !f.only[pair] {
		return false
	}
	return !f.exclude[e] && !f.exclude[a] && !f.exclude[pair]
}

// clarkName returns n in Clark notation.
func clarkName(n xmlview.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}
