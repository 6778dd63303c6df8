// Package write is the write stage: it routes each record to one output
// file per key (the record's category, or the value of one of its labels)
// and owns every file handle of the run.
//
// Kind returns the stage kind for a registry; New builds a Writer directly
// from Options for Go programs. A pipeline uses it as
//
//	sorted:
//	  use: write
//	  from: labelled
//	  with: { dir: out/sorted, by: category, max_open: 256 }
//
// # Outputs
//
// Each file is a complete document of its record kind, with the extension
// given to {ext} in the name template:
//
//   - XML (.xml): `<?xml version="1.0" encoding="UTF-8"?>`, then
//     `<records category="KEY">` (the root name is xml_root; with
//     by: label:NAME the start tag is `<records label="NAME" value="KEY">`,
//     values escaped), each record's subtree followed by a newline, and
//     `</records>`.
//   - CSV (.csv): the header once, then one row per record, encoded with
//     encoding/csv from the record's fields (comma-separated, quoted where
//     needed, whatever the input's delimiter; the bytes of every value are
//     kept, a CRLF in one included). A row that split read from a
//     comma-separated file as RFC 4180 (stage.Record.Checked) is copied as
//     it was read instead, which is the same row; a long row that
//     csv.long_rows: keep kept is written so, with its extra fields. A row
//     that split padded (csv.short_rows: pad) is written padded, and one
//     that needed csv.lazy_quotes is quoted correctly. Records whose
//     headers differ cannot share a file: such a record is an error naming
//     it.
//   - Lines (.txt) and JSON (.jsonl): one record per line. A JSON value that
//     spans lines is compacted to one; a line containing a line break is an
//     error.
//
// Files are created when their first record arrives: a key with no records
// has no file.
//
// # File names
//
// Keys come from data, so they are mapped to a single safe path component
// that cannot leave the output directory:
//
//   - "/" becomes "__", so "book/plain" is written to book__plain.xml. This
//     is the plain mapping, and it is not reported.
//   - A record with an empty key goes to the key "uncategorised"
//     (uncategorised.xml).
//   - ASCII letters, digits, "_", "-", "." and non-ASCII letters and
//     digits are kept; every other byte (spaces, "%", "\", control
//     characters, NUL, invalid UTF-8, punctuation, marks) is written as %XX,
//     as is a leading or trailing ".", so "../x" becomes %2E.__x.xml and
//     ".." becomes %2E%2E.xml.
//   - A name that Windows reserves for a device (CON, PRN, AUX, NUL,
//     COM0-9, LPT0-9, in any case and with any extension) gets its first
//     character escaped: "con" becomes %63on.xml.
//   - A sanitised key longer than 200 bytes is cut and ends with "~" and
//     12 hex digits of a SHA-256 of the key.
//   - Two keys whose names would be the same, or differ only in case (one
//     file on macOS and Windows), never share a file: the first to arrive
//     keeps the name and the other gets "~" and a hash added. Which one
//     arrives first can change between runs when upstream stages run on
//     several workers.
//
// Every file whose name is not the plain mapping of its key is reported in
// Outputs, with a Note such as `category "../x" written as "%2E.__x.xml"`.
//
// # Atomic finalisation
//
// Files are written in a hidden staging directory, dir/.sluice-tmp-*, on the
// same filesystem, and flushed to disk with sync: true. When the run
// succeeded, Prepare hands their renames into dir to the runner, which
// commits them together with every other output of the run (all or
// nothing, under a journal that survives a kill; see core.Committer) and
// removes the staging directory; Abort (the run failed or was cancelled,
// or the commit was undone) removes the staging directory. No partial file
// ever appears under a final name. A file of the same name already in dir
// is replaced by the commit (and restored if the commit is undone); other
// files in dir, such as the outputs of earlier runs for keys that did not
// occur this time, are left as they are. A run killed outright (SIGKILL,
// power loss) before its commit leaves its staging directory behind; the
// next run warns about it, and it is safe to delete once no run is
// writing to dir.
//
// dir: - writes to standard output: every record goes to one output (by
// must be left out: a split by category or label is refused, and a record
// of a second kind is a record error). The output is staged as a file in
// the system's temporary directory and copied to standard output only
// after the run's commit, so a failed or interrupted run prints nothing
// (stdout.go).
//
// # Cost
//
// One goroutine writes, with a buffer of buffer bytes per open file: at
// most max_open × buffer bytes of memory (16 MiB by default). While more
// keys are active than max_open, the least recently used file is flushed
// and closed, and reopened for append on its next record, at the cost of
// an open and a close. If the process runs out of file descriptors, the
// writer holds fewer files open and logs a warning rather than failing.
// With sync: true each file is fsynced once, at Finish.
//
// On Linux the writer also writes behind: every write_behind bytes (8 MiB)
// of a file it starts their writeback (sync_file_range) without waiting,
// and drops from the page cache what lies four such steps back
// (posix_fadvise DONTNEED). So outputs of any size hold about 40 MiB of
// page cache per file being written, the disk works while the run does
// rather than after it, fsync at Finish has little left to do, and the
// input's pages are not evicted in favour of outputs. On the reference job
// it saves about a second of system time per GB written (bench/README.md).
// The price is that the outputs are read back from disk, not memory, by
// whatever reads them next; write_behind: 0 leaves the page cache to the
// kernel.
//
// # Errors
//
// A record that cannot be written as its kind requires is an error about
// that record, handled by the stage's on_error policy. Failures to create,
// write, sync or close a file (a full disk, a permission) fail the run
// whatever the policy, and name the file.
package write
