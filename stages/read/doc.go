// Package read is the `read` stage kind: the source that lists input
// files and hands them, one File record each, to the next stage (usually
// split), which streams their content.
//
// Files are listed once at Setup, in a deterministic order (sorted by
// path, directories walked depth-first in name order), so that runs are
// reproducible and the total input size is known before the first byte is
// read (TotalBytes, for progress and ETA). Hidden files and directories
// (names starting with ".") are left out unless `hidden: true`; symbolic
// links to files are followed, links to directories are not (no loops).
//
// Open is how every stage opens an input file: it decompresses gzip and
// zstd transparently, detected by their magic bytes rather than by the file
// name, and streams (memory is bounded by the decoder's window, never the
// file size).
//
// A path that does not exist, or a directory with no file matching the
// glob, fails the run at Setup with a message naming the path: a pipeline
// that silently reads nothing is almost always a mistake.
//
// Only regular files are read. A named pipe, device or socket as path is
// refused at Setup (and by Open, which checks before opening, since
// opening a pipe blocks): such a stream has no size, cannot be read by
// byte ranges, and a read from it can block forever where a run must be
// able to stop. Inside a directory they are skipped, each with a warning.
//
// Standard input is the one stream read, on purpose: path "-" lists one
// input, "-", which inputfile.OpenContext opens. It is streamed once, by one reader:
// split never cuts it into byte ranges (its chunk option does not apply),
// so its records are split on one worker while the stages after split
// run on as many as they are given. Its size is unknown: progress shows
// the bytes read, with no total and no ETA. On Unix a pipe or socket is
// read through Go's poller, so a cancelled run stops even while the
// writer of the pipe is silent. A terminal as standard input is refused.
package read
