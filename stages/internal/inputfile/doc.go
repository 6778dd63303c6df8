// Package inputfile opens the input files of a pipeline for the stages
// that read them (read lists them, split streams them): Open and
// OpenCounted decompress gzip and zstd, detected from the first bytes;
// Plain says whether a file can be cut into byte ranges; Regular and
// SpecialKind refuse what is not a regular file (a FIFO would block a
// reader forever).
package inputfile
