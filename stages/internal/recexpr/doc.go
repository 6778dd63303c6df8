// Package recexpr is the expression language of the built-in stages: the
// conditions and categories of classify, the keys of count. Expressions are
// github.com/expr-lang/expr programs, compiled once when a stage is built
// (Compile) and evaluated per record by an Evaluator that each worker owns.
//
// # What an expression sees
//
// Variables:
//
//	category   string  the category set by an earlier classify ("" if none)
//	file       string  the input file the record came from
//	ordinal    int     the record's number in its file, from 1 (0 if unknown)
//	kind       string  "xml", "csv", "line" or "json"
//	line       string  the record's raw text: a line record's text without its
//	                   terminator; for other kinds the raw bytes (CSV row, JSON
//	                   value, XML subtree). Materialised only for expressions
//	                   that mention it.
//
// Functions on XML records (names are "local", "prefix:local" or Clark
// "{uri}local"; see package xmlview for how they resolve):
//
//	attr("type")      the root element's attribute, or nil when it is absent
//	attr("xml:lang")  (attr(...) ?? "unknown" gives a default)
//	name()            the root element's name as written ("record", "c:record")
//	text("title")     the text of the first element at a path below the root
//	text("a/b")       (all descendant text, entities decoded, CDATA included);
//	                  "" when no element matches; "*" matches any element,
//	                  "" or "." is the root
//	texts("a/b")      the text of every matching element, as a list
//	has("a/b")        whether any element matches: a child element, never
//	                  an attribute (a path with @ is a compile error)
//	hasattr("alt")    whether the root element has the attribute
//
// Functions on other kinds:
//
//	field("lang")     a CSV field by column name; a name not in the header is
//	                  an error naming the record and listing the columns
//	json("a.b")       a value of a JSON record by dotted path (array indexes
//	                  are numbers: "items.0.id"); nil when absent; json("")
//	                  is the whole value. Integers are int, other numbers
//	                  float64, objects map[string]any, arrays []any.
//	label("k")        a label set by an earlier classifier, or nil
//
// text(".") is all of the record's text (every descendant's, concatenated);
// text("g") only the first <g> child's.
//
// The table in table.go registers every function and variable and
// documents it (signature, doc, examples on the sample records of Samples);
// Functions, Variables and WriteMarkdown render it, so the reference in
// docs/expressions.md cannot drift from the code.
//
// Everything else is expr's language: ==, !=, <, &&, ||, !, ?:, ??, in,
// matches (a regular expression), contains, startsWith, endsWith, and
// builtins such as lower, upper, trim, split, len, any, all.
//
// # Missing values
//
// attr, json and label give nil for something absent, so that ?? can give a
// default and == still works (nil == "map" is false); text gives "" and has
// gives false. A category, label or key that evaluates to nil is an error
// on the record that suggests ??, never an empty string silently.
//
// # Errors
//
// A compile error is a core.OptionError at the option's path with the
// column in the expression. On a record, a function used on the wrong kind
// (attr on a CSV row), a malformed record, or a type error is an *Error
// naming the record's position, the option and the column; a malformed XML
// record is an *XMLError with its line in the file and its offset inside
// the record. Functions on the wrong kind are errors rather than nil so that
// a typo'd pipeline fails loudly; guard mixed inputs with kind == "xml".
//
// # Cost
//
// Records are parsed lazily and at most once per record per Evaluator
// (package xmlview's fast lexer): attr and name read only the root start
// tag; text and has read on from there only up to the first element the
// path matches (text("title") reads a catalogue record's first lines);
// texts, and Evaluator.Tree, read the whole record. A malformation beyond
// what the expressions read is not noticed here (split checks every record
// it emits with the same rules). Strings that attr and name return are
// copies, never the record's memory. json decodes once. A `matches` whose
// pattern is a constant single character class or literal ("[0-9]",
// "vol") scans the string directly, about ten times faster than regexp
// and with the same answers; other patterns run expr's compiled regexp. Nothing is cached on the record itself, which other
// goroutines share. Evaluation reuses one expr VM per Evaluator. The
// functions are called as typed functions, which expr's VM calls without
// allocating; field boxes each field once per record and finds a constant
// column's index once per header, so W2's rule allocates only its
// boxed fields and the category it builds.
package recexpr
