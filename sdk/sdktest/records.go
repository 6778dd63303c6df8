package sdktest

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/sdk"
)

// CSVOptions are the options of sluice's split stage for CSV
// (split: {csv: {...}}), for CSVRecords. The zero value is csv: {}.
type CSVOptions struct {
	Delimiter  rune // csv.delimiter; 0 means ','
	NoHeader   bool // csv.header: false: fields are named "1", "2", ...
	PadShort   bool // csv.short_rows: pad
	KeepLong   bool // csv.long_rows: keep
	LazyQuotes bool // csv.lazy_quotes
}

// CSVRecords reads the CSV file at path into the records sluice's split
// stage emits for it with opts: each row's raw bytes without its line end
// as Data, its decoded Fields, the Header shared by the file's records,
// and its position (Source.File is path as given, Offset and Line of the
// row's first byte, Ordinal from 1). Use them as Options.Records or with
// Client.Classify, so that a plugin's tests run on the records it will see.
//
// Rows are read by encoding/csv. A row that split would reject (a
// malformed row, a row whose field count differs from the header's when
// opts do not pad or keep it) is an error naming its line, and so is a
// row holding a CR (a lone CR line end, or a CRLF inside a quoted field):
// split ends rows at a lone CR and keeps a quoted CRLF, which encoding/csv
// does not, so such files are not read here. A UTF-8 byte order mark is
// skipped. Compressed files are not read: give the plain file.
func CSVRecords(path string, opts CSVOptions) ([]sdk.Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sdktest: %w", err)
	}
	return csvRecords(path, data, opts)
}

func csvRecords(path string, data []byte, opts CSVOptions) ([]sdk.Record, error) {
	base := bomLen(data)
	body := data[base:]
	lines := lineStarts(body, false)
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	r.LazyQuotes = opts.LazyQuotes
	if opts.Delimiter != 0 {
		r.Comma = opts.Delimiter
	}
	var hdr *sdk.Header
	var out []sdk.Record
	for {
		fields, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sdktest: %s: %w (split would reject the row)", path, err)
		}
		line, _ := r.FieldPos(0)
		start, end := lines[line-1], int(r.InputOffset())
		row := body[start:end]
		row = bytes.TrimSuffix(row, []byte("\n"))
		row = bytes.TrimSuffix(row, []byte("\r"))
		if i := bytes.IndexByte(row, '\r'); i >= 0 {
			return nil, fmt.Errorf("sdktest: %s:%d: a CR inside a row (a lone CR line end, or a CRLF in a quoted field) is not supported by CSVRecords: split ends a row at a lone CR and keeps a quoted CRLF, encoding/csv does neither; use LF or CRLF line ends outside quotes", path, line)
		}
		if hdr == nil {
			if !opts.NoHeader {
				hdr = sdk.NewHeader(fields)
				continue
			}
			names := make([]string, len(fields))
			for i := range names {
				names[i] = strconv.Itoa(i + 1)
			}
			hdr = sdk.NewHeader(names)
		}
		switch n, want := len(fields), len(hdr.Names); {
		case n < want && opts.PadShort:
			fields = append(fields, make([]string, want-n)...)
		case n < want || n > want && !opts.KeepLong:
			return nil, fmt.Errorf("sdktest: %s:%d: row has %d fields, the header %d (split would reject it; set PadShort or KeepLong as the pipeline sets csv.short_rows or csv.long_rows)", path, line, n, want)
		}
		out = append(out, sdk.Record{
			Kind:   sdk.CSV,
			Data:   row,
			Header: hdr,
			Fields: fields,
			Source: sdk.Position{File: path, Offset: int64(base + start), Line: int64(line), Ordinal: int64(len(out) + 1)},
		})
	}
}

// bomLen returns the length of the UTF-8 byte order mark data starts
// with, or 0.
func bomLen(data []byte) int {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return 3
	}
	return 0
}

// lineStarts returns the offset of the first byte of each line of data:
// lines end at LF, and with cr at a CR not followed by LF as well (XML's
// line ends).
func lineStarts(data []byte, cr bool) []int {
	out := []int{0}
	for i, c := range data {
		if c == '\n' || cr && c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			out = append(out, i+1)
		}
	}
	return out
}

// XMLRecords reads the XML file at path into the records sluice's split
// stage emits for it with xml: {element: element}: the bytes of each
// outermost matching element as Data, with the namespace declarations in
// scope from its ancestors (and not redeclared on it) added to its start
// tag after the element's name, as split adds them; and its position
// (Source.File is path as given, Offset and Line of its '<', Ordinal from
// 1).
//
// element is split's: "record" (any prefix, any depth), "p:record",
// "{uri}record", or a path from the root ("catalog/record", "/record").
// The file is read by encoding/xml: a malformed file is an error. A
// DOCTYPE with an internal subset (entities to expand, attribute
// defaults) and a scope of more than 4 KiB of namespace declarations
// (where split carries only those a record uses) are refused, rather than
// built differently from split. A UTF-8 byte order mark is skipped.
// Compressed files are not read: give the plain file.
func XMLRecords(path, element string) ([]sdk.Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sdktest: %w", err)
	}
	return xmlRecords(path, data, element)
}

// CarryAll is split's limit on the namespace declarations it adds to every
// record (xmlsplit.CarryAll): above it, XMLRecords refuses the file.
const CarryAll = 4 << 10

// xmlMatch is split's element spec, parsed.
type xmlMatch struct {
	steps    []xmlStep
	anchored bool
}

type xmlStep struct{ prefix, local, uri string } // prefix "*": any; uri set: by URI

func parseXMLMatch(spec string) (xmlMatch, error) {
	var m xmlMatch
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "/") {
		m.anchored, s = true, s[1:]
	}
	for s != "" {
		from := 0
		if strings.HasPrefix(s, "{") {
			from = strings.IndexByte(s, '}')
			if from < 0 {
				return m, fmt.Errorf("sdktest: element %q: the namespace URI opened with { is not closed with }", spec)
			}
		}
		comp, rest := s, ""
		if i := strings.IndexByte(s[from:], '/'); i >= 0 {
			comp, rest = s[:from+i], s[from+i+1:]
			if rest == "" {
				return m, fmt.Errorf("sdktest: element %q ends with /", spec)
			}
		}
		var st xmlStep
		switch p, l, ok := strings.Cut(comp, ":"); {
		case strings.HasPrefix(comp, "{"):
			st = xmlStep{uri: comp[1:from], local: comp[from+1:], prefix: "{"}
		case ok && p != "" && l != "":
			st = xmlStep{prefix: p, local: l}
		default:
			st = xmlStep{prefix: "*", local: comp}
		}
		if st.local == "" {
			return m, fmt.Errorf("sdktest: element %q has an empty step", spec)
		}
		m.steps = append(m.steps, st)
		s = rest
	}
	if len(m.steps) == 0 {
		return m, fmt.Errorf("sdktest: element is empty: name the element to split on, e.g. record or catalog/record")
	}
	m.anchored = m.anchored || len(m.steps) > 1
	return m, nil
}

func (st xmlStep) matches(raw []byte, name xml.Name) bool {
	prefix, local := splitRawName(raw)
	switch {
	case local != st.local:
		return false
	case st.prefix == "*":
		return true
	case st.prefix == "{":
		return name.Space == st.uri
	}
	return prefix == st.prefix
}

// splitRawName splits a name as written, as encoding/xml does: at its
// colon, unless the colon is first or last.
func splitRawName(raw []byte) (prefix, local string) {
	if i := bytes.IndexByte(raw, ':'); i > 0 && i < len(raw)-1 {
		return string(raw[:i]), string(raw[i+1:])
	}
	return "", string(raw)
}

// xmlDecl is a namespace declaration on an element outside records.
type xmlDecl struct {
	prefix string
	attr   []byte // ` xmlns:p="v"`, as split renders it
}

// xmlOpen is an element open outside records.
type xmlOpen struct {
	decls   int  // len(scope) before its declarations
	matched bool // an anchored match's steps match the path down to it
}

func xmlRecords(path string, data []byte, element string) ([]sdk.Record, error) {
	m, err := parseXMLMatch(element)
	if err != nil {
		return nil, err
	}
	base := bomLen(data)
	body := data[base:]
	lines := lineStarts(body, true)
	d := xml.NewDecoder(bytes.NewReader(body))
	var (
		scope []xmlDecl
		open  []xmlOpen
		out   []sdk.Record
	)
	fail := func(err error) error {
		line, col := d.InputPos()
		return fmt.Errorf("sdktest: %s:%d:%d: %w", path, line, col, err)
	}
	for {
		start := int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fail(err)
		}
		switch tok := tok.(type) {
		case xml.Directive:
			if bytes.HasPrefix(tok, []byte("DOCTYPE")) && bytes.IndexByte(tok, '[') >= 0 {
				return nil, fail(errors.New("a DOCTYPE with an internal subset is not supported by XMLRecords (split expands its entities and applies its attribute defaults); build records from a file without one"))
			}
		case xml.EndElement:
			scope = scope[:open[len(open)-1].decls]
			open = open[:len(open)-1]
		case xml.StartElement:
			tag := body[start:int(d.InputOffset())]
			raw, decls := rawStartTag(tag)
			depth := len(open)
			onPath := depth < len(m.steps) && (depth == 0 || open[depth-1].matched) && m.steps[depth].matches(raw, tok.Name)
			hit := onPath && depth == len(m.steps)-1
			if !m.anchored {
				hit = m.steps[0].matches(raw, tok.Name)
			}
			if !hit {
				open = append(open, xmlOpen{decls: len(scope), matched: onPath})
				scope = append(scope, decls...)
				continue
			}
			ins, err := insertion(scope, decls)
			if err != nil {
				return nil, fail(err)
			}
			if err := d.Skip(); err != nil {
				return nil, fail(err)
			}
			rec := body[start:int(d.InputOffset())]
			nameEnd := 1 + len(raw)
			dataOut := make([]byte, 0, len(rec)+len(ins))
			dataOut = append(append(append(dataOut, rec[:nameEnd]...), ins...), rec[nameEnd:]...)
			line := lineOf(lines, start)
			out = append(out, sdk.Record{
				Kind:   sdk.XML,
				Data:   dataOut,
				Source: sdk.Position{File: path, Offset: int64(base + start), Line: int64(line), Ordinal: int64(len(out) + 1)},
			})
		}
	}
}

// lineOf returns the line, from 1, of offset off.
func lineOf(lines []int, off int) int {
	lo, hi := 0, len(lines)
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; lines[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1
}

// insertion returns the declarations to add to a record's start tag: those
// in scope, innermost winning for a prefix, minus the prefixes the
// record's start tag declares (own), in document order.
func insertion(scope, own []xmlDecl) ([]byte, error) {
	var out []byte
	total := 0
	for i, d := range scope {
		hidden := false
		for _, later := range scope[i+1:] {
			hidden = hidden || later.prefix == d.prefix
		}
		if hidden {
			continue
		}
		total += len(d.attr)
		redeclared := false
		for _, o := range own {
			redeclared = redeclared || o.prefix == d.prefix
		}
		if !redeclared {
			out = append(out, d.attr...)
		}
	}
	if total > CarryAll {
		return nil, fmt.Errorf("more than %d bytes of namespace declarations are in scope: split then carries only those a record uses, which XMLRecords does not do; declare fewer namespaces in the test file", CarryAll)
	}
	return out, nil
}

// rawStartTag returns the name of the start tag tag (as written, which
// encoding/xml has checked) and its namespace declarations, rendered as
// split renders them.
func rawStartTag(tag []byte) (name []byte, decls []xmlDecl) {
	i := 1
	for i < len(tag) && !isSpace(tag[i]) && tag[i] != '/' && tag[i] != '>' {
		i++
	}
	name = tag[1:i]
	for {
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		if i >= len(tag) || tag[i] == '/' || tag[i] == '>' {
			return name, decls
		}
		a := i
		for tag[i] != '=' && !isSpace(tag[i]) {
			i++
		}
		an := string(tag[a:i])
		for tag[i] != '"' && tag[i] != '\'' {
			i++
		}
		q := tag[i]
		v := i + 1
		i = v + bytes.IndexByte(tag[v:], q)
		if an == "xmlns" || strings.HasPrefix(an, "xmlns:") {
			attr := append([]byte(" "+an+"="), q)
			attr = append(append(attr, tag[v:i]...), q)
			decls = append(decls, xmlDecl{prefix: strings.TrimPrefix(strings.TrimPrefix(an, "xmlns"), ":"), attr: attr})
		}
		i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
