package pipeline

import (
	"fmt"
	"github.com/sluicehq/sluice/stage"
	"strings"
)

// DOT renders the graph in Graphviz's DOT language: one box per stage
// labelled with its name, kind and workers, one edge per input labelled
// with the record kinds that flow on it.
func (g *Graph) DOT() string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %q {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n", g.title())
	for _, grp := range g.groups() {
		indent := "  "
		if grp.use != "" {
			fmt.Fprintf(&b, "  subgraph %q {\n    label=%q;\n    style=dashed;\n    fontname=\"Helvetica\";\n", "cluster_"+grp.use, grp.label())
			indent = "    "
		}
		for _, n := range grp.nodes {
			fmt.Fprintf(&b, "%s%q [label=%q];\n", indent, n.Name, n.label("\n"))
		}
		if grp.use != "" {
			b.WriteString("  }\n")
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			fmt.Fprintf(&b, "  %q -> %q [label=%q];\n", in.Name, n.Name, in.Out.String())
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// group is the stages of one template use, or one stage of the pipeline's
// own (use == "").
type group struct {
	use, template string
	nodes         []*Node
}

func (grp group) label() string { return grp.use + " (template " + grp.template + ")" }

// groups returns the stages in order, those of one template use together
// where the first of them is.
func (g *Graph) groups() []group {
	var out []group
	at := map[string]int{}
	for _, n := range g.Nodes {
		if n.Use == "" {
			out = append(out, group{nodes: []*Node{n}})
			continue
		}
		i, ok := at[n.Use]
		if !ok {
			i = len(out)
			at[n.Use] = i
			out = append(out, group{use: n.Use, template: n.UseTemplate})
		}
		out[i].nodes = append(out[i].nodes, n)
	}
	return out
}

// Mermaid renders the graph as a Mermaid flowchart, for Markdown files
// that GitHub and GitLab draw.
func (g *Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := map[*Node]string{}
	for gi, grp := range g.groups() {
		indent := "  "
		if grp.use != "" {
			fmt.Fprintf(&b, "  subgraph g%d[%s]\n", gi, mermaidText(grp.label()))
			indent = "    "
		}
		for _, n := range grp.nodes {
			ids[n] = fmt.Sprintf("s%d", len(ids))
			fmt.Fprintf(&b, "%s%s[%s]\n", indent, ids[n], mermaidText(n.label("<br/>")))
		}
		if grp.use != "" {
			b.WriteString("  end\n")
		}
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			fmt.Fprintf(&b, "  %s -->|%s| %s\n", ids[in], mermaidText(in.Out.String()), ids[n])
		}
	}
	return b.String()
}

// mermaidText quotes s for a Mermaid node or edge label: inside quotes,
// Mermaid reads | [ ] ( ) and spaces as text; a quote itself is an entity.
func mermaidText(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, "#quot;") + `"`
}

func (g *Graph) title() string {
	if g.Name != "" {
		return g.Name
	}
	return "pipeline"
}

func (n *Node) label(sep string) string {
	l := n.Name + sep + n.Kind
	if _, src := n.Stage.(stage.Source); !src {
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
