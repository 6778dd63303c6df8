package recexpr

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sluicehq/sluice/stage"
)

// Format writes a value as the reference and sluice eval show it: strings
// quoted, nil as nil, lists in brackets, maps with sorted keys.
func Format(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case string:
		return strconv.Quote(x)
	case []string:
		items := make([]string, len(x))
		for i, s := range x {
			items[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case []any:
		items := make([]string, len(x))
		for i, e := range x {
			items[i] = Format(e)
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		items := make([]string, len(keys))
		for i, k := range keys {
			items[i] = strconv.Quote(k) + ": " + Format(x[k])
		}
		return "{" + strings.Join(items, ", ") + "}"
	}
	if s, err := toString(v); err == nil {
		return s
	}
	return fmt.Sprintf("%v", v)
}

// kindTitle names the records a function reads, for headings.
func kindTitle(t stage.Type) string {
	if t == stage.Records {
		return "any record"
	}
	return kindName(t) + " records"
}

// kindOrder is the order of the reference's sections.
var kindOrder = []stage.Type{stage.Records, stage.XML, stage.CSV, stage.JSON, stage.Line}

const languageNote = `Everything else is expr's language (https://expr-lang.org/docs/language-definition):
== != < <= > >= && || ! ?: ?? (a default for nil), in, matches (a regular
expression), contains, startsWith, endsWith, + on strings and numbers, and
builtins such as lower, upper, trim, split, join, len, int, float, string,
any, all, filter, map.`

// pitfalls are the differences the reference states outright, since users
// have been misled by them.
var pitfalls = []string{
	"`has(\"alt\")` tests for a child element `<alt>`, never an attribute: on `<img alt=\"x\"/>` it is false. Test the root's attribute with `hasattr(\"alt\")` (or `attr(\"alt\") != nil`); a path containing `@` is a compile error that says so.",
	"`text(\".\")` is all the text of the whole record, every descendant's concatenated; `text(\"g\")` is the text of the first `<g>` child only (its descendants' included). `text(\"a/b\")` follows a path; `texts(\"a/b\")` gives every match.",
	"`attr`, `json` and `label` give nil for something absent, so that `??` gives a default; a category, label or key that is nil is an error on the record. `text` gives `\"\"` and `has` gives false.",
	"A function reads one kind of record; on another kind it is an error naming the record (guard mixed inputs with `kind == \"xml\"`).",
}

// WriteText writes the reference as `sluice expr` shows it.
func WriteText(w io.Writer) {
	fmt.Fprintln(w, "The expression language of classify (rules[].when, rules[].expr, labels), filter (keep, drop) and count (by).")
	fmt.Fprintln(w, "Examples run on the sample records at the end; sluice eval tries an expression on a file.")
	fmt.Fprintln(w, "\nvariables:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range Variables() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.Type, v.Doc)
		for _, e := range v.Examples {
			fmt.Fprintf(tw, "  \t\t  %s on %s → %s\n", e.Expr, kindName(e.Kind), e.Result)
		}
	}
	tw.Flush()
	fns := Functions()
	for _, k := range kindOrder {
		fmt.Fprintf(w, "\nfunctions on %s:\n", kindTitle(k))
		n := 0
		for _, f := range fns {
			if f.Kind != k {
				continue
			}
			n++
			fmt.Fprintf(w, "  %s\n      %s\n", f.Signature, f.Doc)
			for _, e := range f.Examples {
				fmt.Fprintf(w, "      %s → %s\n", e.Expr, e.Result)
			}
		}
		if n == 0 {
			fmt.Fprintln(w, "  none of their own: read line, with expr's string functions")
		}
	}
	fmt.Fprintln(w, "\nbeware:")
	for _, p := range pitfalls {
		fmt.Fprintf(w, "  - %s\n", strings.ReplaceAll(p, "`", ""))
	}
	fmt.Fprintf(w, "\n%s\n", languageNote)
	fmt.Fprintln(w, "\nsample records:")
	for _, s := range Samples() {
		fmt.Fprintf(w, "  %s (%s, split with %s):\n%s", kindName(s.Kind), s.File, s.Split(), indentLines(s.Data, "    "))
	}
}

// WriteSummary writes one line per variable and function, for `sluice
// stages classify`.
func WriteSummary(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range Variables() {
		fmt.Fprintf(tw, "  %s %s\tany record\t%s\n", v.Name, v.Type, v.Doc)
	}
	for _, f := range Functions() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", f.Signature, kindTitle(f.Kind), f.Doc)
	}
	tw.Flush()
}

// WriteMarkdown writes the reference as docs/expressions.md holds it.
func WriteMarkdown(w io.Writer) {
	fmt.Fprint(w, `# Expression reference

<!-- Generated from the code by `+"`sluice expr --markdown`"+`; do not edit. A test keeps this
file equal to the code (go test ./stages/exprlang -run TestReferenceFile -update). -->

Expressions are the conditions and categories of `+"`classify`"+` (`+"`rules[].when`"+`,
`+"`rules[].expr`, `labels`"+`), the conditions of `+"`filter`"+` (`+"`keep`, `drop`"+`) and the
keys of `+"`count`"+` (`+"`by`"+`). They are
[expr](https://expr-lang.org) programs, compiled once when the pipeline is planned
and evaluated on each record. The guide is [expressions-guide.md](expressions-guide.md);
`+"`sluice eval 'EXPR' --record FILE`"+` tries an expression on the records of a file.

Every example below runs, in a test, on the sample record of its kind (see
[Sample records](#sample-records)) and gives the result shown.

## Variables

| variable | type | description | examples |
|---|---|---|---|
`)
	for _, v := range Variables() {
		var ex []string
		for _, e := range v.Examples {
			ex = append(ex, fmt.Sprintf("`%s` on %s → `%s`", e.Expr, kindName(e.Kind), e.Result))
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", v.Name, v.Type, mdCell(v.Doc), mdCell(strings.Join(ex, "<br>")))
	}
	fns := Functions()
	for _, k := range kindOrder {
		fmt.Fprintf(w, "\n## Functions on %s\n\n", kindTitle(k))
		n := 0
		for _, f := range fns {
			if f.Kind != k {
				continue
			}
			if n > 0 {
				fmt.Fprintln(w)
			}
			n++
			fmt.Fprintf(w, "### `%s`\n\n%s.\n\n| expression | result |\n|---|---|\n", f.Signature, upperFirst(f.Doc))
			for _, e := range f.Examples {
				fmt.Fprintf(w, "| `%s` | `%s` |\n", mdCell(e.Expr), mdCell(e.Result))
			}
		}
		if n == 0 {
			fmt.Fprint(w, "None of their own: read `line` with expr's string functions, as in `split(line, \" \")[1]`.\n")
		}
	}
	fmt.Fprint(w, "\n## Beware\n\n")
	for _, p := range pitfalls {
		fmt.Fprintf(w, "- %s\n", p)
	}
	fmt.Fprintf(w, "\n## The rest of the language\n\n%s\n", strings.ReplaceAll(languageNote, "\n", " "))
	fmt.Fprint(w, "\n## Sample records\n\nEach sample file is split as the `split` stage's `with:` shown says; the examples run on its first record.\n")
	for _, s := range Samples() {
		lang := map[stage.Type]string{stage.XML: "xml", stage.CSV: "csv", stage.JSON: "json", stage.Line: "text"}[s.Kind]
		fmt.Fprintf(w, "\n### %s: `%s`, split with `%s`\n\n```%s\n%s```\n", kindName(s.Kind), s.File, s.Split(), lang, s.Data)
	}
}

// mdCell escapes what would break a Markdown table cell.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func indentLines(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}
