// Package jsonout appends JSON text to byte slices, for the stages that
// build JSON records (map) and write them (write's format: jsonl), without
// an allocation per value in the common cases.
package jsonout

import (
	"encoding/json"
	"fmt"
)

// String appends s as a JSON string, escaped as encoding/json escapes it
// (HTML characters included, invalid UTF-8 replaced by U+FFFD). A string
// that needs no escaping, the common case, costs no allocation.
func String(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			j, _ := json.Marshal(s) // a string always marshals
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Value appends v as JSON: strings and nil without an allocation, other
// values through encoding/json. A value encoding/json cannot write (a
// channel, a NaN) is an error.
func Value(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return String(b, x), nil
	case nil:
		return append(b, "null"...), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("the value cannot be written as JSON: %w", err)
	}
	return append(b, j...), nil
}
