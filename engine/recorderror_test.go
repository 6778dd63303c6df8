package engine_test

import (
	"errors"
	"testing"

	"github.com/sluicehq/sluice/engine"
	"github.com/sluicehq/sluice/stage"
)

// TestRecordErrorPositionOnce: a split error names its position once,
// whether it comes straight from the file's scan or from a row of the
// file that failed under on_error: fail (issue 14, "Error text").
func TestRecordErrorPositionOnce(t *testing.T) {
	file := stage.Position{File: "F"}
	row := stage.Position{File: "F", Line: 2, Offset: 14, Ordinal: 1}
	scanErr := errors.New("F:2:5: bare quote")
	for _, tc := range []struct {
		name string
		err  *engine.RecordError
		want string
	}{
		{"scan error of the file", &engine.RecordError{Stage: "records", Source: file, Err: scanErr},
			`stage "records": F:2:5: bare quote`},
		{"row error of the file", &engine.RecordError{Stage: "records", Source: file, Err: &engine.RecordError{Stage: "records", Source: row, Err: scanErr}},
			`stage "records": F:2:5: bare quote`},
		{"cause without a position", &engine.RecordError{Stage: "m", Source: row, Err: errors.New("bad record")},
			`stage "m": F:2 (record 1, byte 14): bad record`},
		{"another stage's record error", &engine.RecordError{Stage: "m", Source: file, Err: &engine.RecordError{Stage: "n", Source: row, Err: errors.New("x")}},
			`stage "m": F: stage "n": F:2 (record 1, byte 14): x`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%s:\n got  %q\n want %q", tc.name, got, tc.want)
		}
	}
}
