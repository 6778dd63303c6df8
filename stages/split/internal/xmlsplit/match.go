package xmlsplit

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/sdk/xmlname"
)

// Match selects the elements a Splitter emits. Make one with ParseMatch.
type Match struct {
	steps    []step
	anchored bool // the steps are a path from the root; else one step at any depth
	spec     string
}

type stepKind uint8

const (
	byLocal stepKind = iota // any prefix, local name equal
	byQName                 // prefix and local name as written
	byURI                   // namespace URI and local name
)

type step struct {
	kind   stepKind
	prefix string
	local  string
	uri    string
}

// String returns the spec the Match was parsed from.
func (m *Match) String() string { return m.spec }

// ParseMatch parses an element spec:
//
//	record               local name "record", any prefix, at any depth
//	p:record             prefix "p" as written and local name "record"
//	{urn:x}record        namespace URI "urn:x" ({} is no namespace)
//	catalog/record       a path from the root element; each step as above
//	/record              the root element only
//
// Only the outermost match is emitted: a matching element inside a
// matched one is part of the outer record.
func ParseMatch(spec string) (*Match, error) {
	m := &Match{spec: spec}
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, fmt.Errorf("is empty: name the element to split on, e.g. record or catalog/record")
	}
	if strings.HasPrefix(s, "/") {
		m.anchored = true
		s = s[1:]
	}
	if strings.HasSuffix(s, "/") {
		return nil, fmt.Errorf("%q ends with /: name the element after it", spec)
	}
	for {
		// A step ends at the first '/' after its {uri}, if it has one:
		// URIs hold slashes.
		from := 0
		if strings.HasPrefix(s, "{") {
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return nil, fmt.Errorf("%q: the namespace URI opened with { is not closed with }", spec)
			}
			from = end
		}
		comp, rest, more := s, "", false
		if i := strings.IndexByte(s[from:], '/'); i >= 0 {
			comp, rest, more = s[:from+i], s[from+i+1:], true
		}
		st, err := parseStep(comp)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", spec, err)
		}
		m.steps = append(m.steps, st)
		if !more {
			break
		}
		s = rest
	}
	if len(m.steps) > 1 {
		m.anchored = true
	}
	return m, nil
}

func parseStep(c string) (step, error) {
	if c == "" {
		return step{}, fmt.Errorf("has an empty step (two slashes in a row?)")
	}
	if strings.HasPrefix(c, "{") {
		end := strings.IndexByte(c, '}')
		local := c[end+1:]
		if !isASCIIOrXMLName(local) || strings.Contains(local, ":") {
			return step{}, fmt.Errorf("%q is not a valid local name after {uri}", local)
		}
		return step{kind: byURI, uri: c[1:end], local: local}, nil
	}
	if !isASCIIOrXMLName(c) || strings.Count(c, ":") > 1 {
		return step{}, fmt.Errorf("%q is not a valid XML element name", c)
	}
	if p, l, ok := strings.Cut(c, ":"); ok && p != "" && l != "" {
		return step{kind: byQName, prefix: p, local: l}, nil
	}
	return step{kind: byLocal, local: c}, nil
}

func isASCIIOrXMLName(s string) bool {
	return s != "" && xmlname.ValidName([]byte(s))
}

// matches reports whether an element with the given raw name and
// namespace URI (resolved only when needed, through uri) satisfies st.
func (st *step) matches(name []byte, uri func(prefix []byte) string) bool {
	prefix, local := splitQName(name)
	if string(local) != st.local {
		return false
	}
	switch st.kind {
	case byQName:
		return string(prefix) == st.prefix
	case byURI:
		return uri(prefix) == st.uri
	}
	return true
}

// splitQName splits a name as encoding/xml does: at its colon, unless the
// colon is first or last, in which case the whole name is local.
func splitQName(name []byte) (prefix, local []byte) {
	for i, c := range name {
		if c == ':' {
			if i == 0 || i == len(name)-1 {
				return nil, name
			}
			return name[:i], name[i+1:]
		}
	}
	return nil, name
}
