// Package split is the split stage: it streams each input file into
// records, on as many workers as the stage has. One large file uses every
// worker: it is cut into byte ranges (chunk, 4 MiB by default) that the
// workers split at once, with exactly the records, positions, order and
// errors of a scan of the whole file.
//
// Entry point: Kind, for the registry. A pipeline uses it as
//
//	records: {use: split, from: files, workers: auto, with: {xml: {element: record}}}
//
// with exactly one format:
//
//	xml: {element: record}     core.XML: the subtree of each outermost matching element
//	csv: {delimiter: ",", header: true}
//	                           core.CSV: one record per row, Fields decoded, Header shared per file
//	lines: {skip_empty: false} core.Line: one record per line, "\n" or "\r\n" removed
//	jsonl: {}                  core.JSON: one record per non-empty line, checked with json.Valid
//
// A format without options must be written with an empty mapping
// (lines: {}): a key with no value leaves the format unset.
//
// A file that gives no records from a non-empty input (an xml.element that
// matches nothing, a CSV file with only its header) is a warning (see
// core.Env.Warnings), logged and shown in the run summary; so is a CSV
// header that names a column twice (Record.Field and field() read the
// first such column).
//
// # Contract
//
// Split takes core.File records and opens each with inputfile.Open, so gzip and
// zstd files are decompressed transparently. Every record carries its
// position: Source.File, Source.Offset (of its first byte in the
// decompressed stream), Source.Line (1-based) and Source.Ordinal (1-based
// within the file). Record bytes are carved from per-file slabs of 1 MiB:
// they are never reused or modified, and a slab stays in memory while any
// record from it is alive.
//
// Errors about one record (a malformed CSV row, a row with the wrong
// number of fields, an invalid JSON line) go to the stage's on_error
// policy with the record and its file:line:col. Errors that break the
// file (malformed XML, a record over max_record_bytes, a read error) fail
// that file; the records before the problem have already been emitted.
// A UTF-8 byte order mark is skipped; UTF-16 and UTF-32 files and XML
// declaring another encoding are refused with the iconv command to convert
// them.
//
// # CSV
//
// Rows are read as encoding/csv reads them (with FieldsPerRecord -1), but
// a row ends at LF, CRLF or a lone CR, as in Python's csv, so that files
// with CR line ends (old Mac programs) and files mixing line ends split
// into their rows; lines are counted the same way, for positions. A quoted
// field keeps its bytes, a CRLF in it included (RFC 4180), and only a ""
// becomes ". csv.lazy_quotes keeps a bare quote as data as encoding/csv's
// LazyQuotes does (a"b, "a"b", and a quoted field open at the end of the
// file, which runs to it); without it such a row is rejected with its
// position and a hint naming the option.
//
// A row whose field count differs from the header's (or the first row's,
// with header: false) is rejected with a message naming the option that
// accepts it: csv.short_rows: pad appends empty fields, as Python's
// csv.DictReader (restval) and DuckDB's null_padding do, and
// csv.long_rows: keep keeps the extra fields, which have no name.
//
// Record.Checked says that Data is an RFC 4180 row whose fields are
// Fields, so that write may copy Data rather than encode Fields: it is set
// on well-formed rows, long rows kept included (write then writes the row
// as it was read), and not on padded rows (write writes them padded, with
// the header's number of fields, so that its output reads back without
// the option) nor on rows that needed lazy quotes (write quotes them
// correctly: the values are kept, the bytes are not).
//
// # XML
//
// The scan is byte work on the worker's goroutine: bytes.IndexByte jumps
// between markup and a table lookup per name byte; records are parsed
// later, by whoever consumes them. Each record is emitted so that it
// parses on its own:
//   - namespace declarations in scope from its ancestors (and not
//     redeclared on it) are added to its start tag, after the element name.
//     While they total at most 4 KiB all of them are; beyond (a document
//     declaring thousands of namespaces on its root), only the default
//     namespace's and those of the prefixes the record uses: a prefix
//     followed by ':' anywhere in it, in names, in QName values such as
//     xsi:type="p:t", or in text (character references decoded). Every
//     name and QName keeps its meaning, and the output does not grow by
//     the scope's size per record; a query naming a prefix the record does
//     not use finds nothing in it, so name such namespaces as {uri}local;
//   - general entities declared in the DOCTYPE's internal subset are
//     expanded (nesting and size are capped against "billion laughs");
//     predefined entities and character references are kept as written
//     (a CR that an entity's character reference puts in text is written
//     &#13;, so that it does not read back as a line end); an undeclared
//     or external entity is an error;
//   - the internal subset's attribute-list declarations are applied, as
//     XML 1.0 §5.1 has every parser do: an attribute with a default or
//     #FIXED value that a start tag leaves out is added to it (after its
//     attributes), in the record's own element and in its descendants, and
//     the values of attributes declared with a type other than CDATA (ID,
//     NMTOKENS, an enumeration ...) are normalised (leading and trailing
//     spaces dropped, runs of spaces collapsed). A default xmlns or xmlns:p
//     puts elements in a namespace, for xml.element's {uri}name as for the
//     records' readers. Documents without ATTLIST declarations pay one nil
//     check per start tag.
//
// # DTDs
//
// The DOCTYPE is read once per file and strictly, as XML 1.0 (fifth
// edition) requires of a non-validating processor: the grammar of every
// ELEMENT, ATTLIST, ENTITY and NOTATION declaration, comments and
// processing instructions in the internal subset, names and literals; a
// parameter-entity reference may stand only between declarations (not
// inside one), and an internal parameter entity is expanded there, so the
// declarations in it count. Conditional sections are refused (they belong
// to external subsets). A malformed DOCTYPE fails the file at its
// file:line:col.
//
// External DTDs and external parameter entities are never fetched. So the
// defaults, #FIXED values and entities declared only there are not
// applied or known: a record does not carry such an attribute, and a
// reference to such an entity is an error that says so. After a reference
// to an external parameter entity, the ENTITY and ATTLIST declarations
// that follow are checked but not applied (§5.1: what was not read might
// have declared them first), unless the document is standalone="yes".
// Expand such documents first (xmllint --noent --dtdattr --loaddtd) when
// those declarations matter.
//
// When the internal subset references a parameter entity and the document
// is not standalone="yes", a reference to an undeclared general entity is
// only a validity error (XML 1.0 WFC: Entity Declared): if no external DTD
// or unread parameter entity could declare it, it stands for nothing and
// the record carries nothing in its place, as in expat; otherwise it is an
// error.
//
// The scanner is a non-validating XML 1.0 (fifth edition) and Namespaces
// 1.0 processor (internal/xmlconf runs the W3C conformance suite against
// it). Inside records it checks everything: names, references,
// characters (comments and processing instructions included), CDATA,
// attribute quoting and spacing, repeated attributes, declared namespace
// prefixes and the reserved ones, and no markup declarations or XML
// declaration in content; so a record it emits parses with any XML
// parser. Outside records it checks the structure (matching tags, one root
// element, no text outside it), the XML declaration's grammar and place,
// the characters of comments and processing instructions, and that only
// one DOCTYPE stands before the root and nothing but comments and
// processing instructions after it. Names follow the fifth edition's
// tables (those of expat and libxml2; encoding/xml keeps the fourth's, so
// a few names accepted here are refused there). UTF-16 or UTF-32 without
// a byte order mark is recognised by its first '<' and refused with the
// iconv command, as with one.
//
// # Byte ranges
//
// An uncompressed file larger than chunk is cut into ranges of chunk
// bytes, one core.Part each (split is a core.Partitioner), and the parts
// of all files share the workers. A record belongs to the range its first
// byte is in. The first range is scanned from the file's start; every
// other range speculates: it guesses where its first record starts and in
// which state (XML: the first '<' after the cut, in the context of the
// file's first record, ignoring end tags it cannot match; CSV: the first
// line end, LF or CR, outside quotes, by the parity of the quotes before
// the cut, which every range counts in its own bytes first; lines and JSON
// lines: the first line start) and splits its range into a buffer. The range
// before it then hands over the exact place where it stopped (the first
// record, or for XML the first markup outside records, at or after the
// cut) with the line there, the ordinal reached and, for XML, the open
// elements, their namespace declarations and the DOCTYPE's entities. If
// the speculation passed through that place in that state (the usual
// case), its records from there on are exact once their lines and
// ordinals are shifted, and are emitted; if not (a cut inside a comment,
// CDATA section or quoted field that fooled the guess, or malformed input)
// the range is split again from the handed-over place, exactly. (Under
// csv.lazy_quotes a bare quote upsets the parity, so that a range of a
// file with many of them may be split twice: correct, but slower.) So the
// sequential part is a handoff and a check of a few words per range, and
// an error is always reported from an exact scan, with the position and
// message a whole-file scan gives; under on_error: fail the earliest error
// in file order wins, and the ranges after a file's failure emit nothing.
// The prolog and DOCTYPE are scanned once, by the first range, and the CSV
// header too.
//
// Memory: a range being speculated holds its records until its handoff
// arrives, so a worker holds about chunk + the largest record. Line
// numbers are counted by each range in its own bytes. Input bytes are
// reported once per range, when it is done, so progress moves by chunk.
// gzip files cannot be cut (a gzip stream must be read from its start) and
// are split whole on one worker, and so are zstd files (a file of
// independent frames could be cut at frame boundaries; split does not do
// it yet); chunk: 0 splits every file whole, for debugging and comparison.
// Other executors can run one range: Stage.Partition returns the parts,
// each a function of a context and an Emitter.
//
// # Cost
//
// One pass over each file's bytes plus a copy of every record; memory per
// worker is the read window (256 KiB, growing to the largest record) and
// the slab being filled. XML splitting runs at several hundred MB/s per
// core on catalogue-like documents (see BenchmarkSplitXML). JSON Lines
// validation runs encoding/json's scanner over every line, roughly
// 200-400 MB/s per core; CSV decodes every field, one allocation per row.
// Input bytes are reported to the stage's BytesIn counter once per read
// chunk of 256 KiB, as bytes on disk (compressed bytes, for compressed
// files), so that progress is measured against the files' sizes.
package split
