package core

import (
	"fmt"
	"strings"
)

// DOT renders the graph in Graphviz's DOT language: one box per stage
// labelled with its name, kind and workers, one edge per input labelled
// with the record kinds that flow on it.
func (g *Graph) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n", g.title())
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "  %q [label=%q];\n", n.Name, n.label("\n"))
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", in.Name, n.Name, in.Out.String())
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// Mermaid renders the graph as a Mermaid flowchart, for Markdown files
// that GitHub and GitLab draw.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := map[*Node]string{}
	for i, n := range g.Nodes {
		ids[n] = fmt.Sprintf("s%d", i)
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", ids[n], strings.ReplaceAll(n.label("<br/>"), `"`, "#quot;"))
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			fmt.Fprintf(&b, "  %s -->|%s| %s\n", ids[in], in.Out.String(), ids[n])
		}
	}
	return b.String()
}

func (g *Graph) title() string {
	if g.Name != "" {
		return g.Name
	}
	return "pipeline"
}

func (n *Node) label(sep string) string {
	l := n.Name + sep + n.Kind
	if _, src := n.Stage.(Source); !src {
		l += fmt.Sprintf(" ×%d", n.Workers)
		if n.Ordered {
			l += " ordered"
		}
	}
	if n.OnError != OnErrorFail && n.OnError != "" {
		l += sep + "on_error: " + string(n.OnError)
	}
	return l
}
