// Package xmlview reads one XML record: an element subtree whose bytes
// parse on their own (split carries the namespace declarations in scope onto
// the record's root). It is the only place the built-in stages parse XML
// records, so that a faster lexer can replace encoding/xml here without
// touching classify or count.
//
// The lexer is byte-level work over the record's bytes (bytes.IndexByte
// between markup, table lookups per byte), with encoding/xml's rules: it
// accepts exactly what encoding/xml's Decoder accepts, with the same
// names, attributes and text (FuzzTree checks it against encoding/xml),
// except that names follow XML 1.0 fifth edition's tables (xmlname), as
// split's do; and rejects every malformation with its line and byte
// offset. It runs
// several times faster than encoding/xml and allocates nothing per record
// once its buffers have grown (BenchmarkParse).
//
// A Parser offers three reads of increasing cost:
//
//   - Root parses the root start tag only (its name and attributes): what
//     attr() and name() need. The rest of the record is not read, so a
//     record that is malformed after its first tag is not noticed.
//   - Lazy parses the root start tag and returns a Tree that reads further
//     only as its queries need: Text and Has stop at the first element the
//     path matches (for the reference job's text("title"), the record's
//     first lines), Texts and Complete read the whole record. Like Root, it
//     does not notice a malformation beyond what it reads.
//   - Tree parses the whole record into a flat, reusable Tree that answers
//     path queries (Text, Texts, Has) and lists every element with its
//     attributes. Any malformation is an error.
//
// Records that come from split have been checked by it with the same rules
// (it emits only records that parse), so the lazy reads lose nothing
// there; a stage that must see every element (count's attributes mode)
// reads the whole record.
//
// Names are resolved to namespace URIs. A record whose element or attribute
// uses an undeclared prefix, closes an element it did not open, repeats an
// attribute or holds more than one root element is malformed. Errors are
// *SyntaxError values with the line and byte offset inside the record.
//
// Queries name elements and attributes as "local", "prefix:local" or
// "{uri}local" (Clark notation; "{}local" is a name in no namespace). A prefix is resolved with the declarations
// in scope at the record's root; "xml" is always bound to the XML
// namespace. An unprefixed element name is in the root's default namespace
// (as it would be if written in the record); an unprefixed attribute name
// has no namespace, as in XML. A prefix the record does not declare matches
// nothing. A path is steps separated by "/" starting below the root ("title",
// "authors/author"); a step "*" matches any element, and the path "" or "."
// is the root itself. These queries (Text, Texts, Has) are what the
// engine's expressions use, and a step they cannot match matches nothing.
//
// Path (path.go) is the plugin SDK's stricter syntax over the same tree:
// paths relative to any element, a last step "@name" for an attribute,
// and a *PathError for anything unsupported ("//", "..", predicates)
// instead of no match. Tree.Next iterates over the elements a Path
// matches, reading a lazy tree one element further at a time.
//
// Parsers are not safe for concurrent use; use one per worker. What they
// return is valid until the next call on the same Parser.
package xmlview
