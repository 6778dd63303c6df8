package stage

// Pairs is an option written as a YAML mapping whose order matters, such
// as the fields of a record that map builds: the keys and values as
// written, in order. Decoding reports a value's problems at its own
// position (an OptionError for "fields.title" points at title's value),
// and a key given twice is an error.
type Pairs []Pair

// Pair is one key and its value in Pairs.
type Pair struct{ Key, Value string }
