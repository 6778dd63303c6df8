package sdktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/sdk"
)

// CheckRecord reports whether r is a record sluice could send: one that
// split (or a stage after it) emits. Hand-built test records are easy to
// get wrong in ways a plugin's tests then never notice; CheckRecord
// catches these:
//
//   - a Kind that is not XML, CSV, Line or JSON;
//   - empty Data, except for a Line (split emits empty lines);
//   - a CSV record without Header or Fields, with fewer Fields than Header
//     names (split pads short rows), or whose Data is empty;
//   - Header or Fields on a record that is not CSV;
//   - XML Data that is not one well-formed element (read whole by
//     sdk.XMLReader), JSON Data that is not one JSON value;
//   - a negative position.
//
// Records built by CSVRecords and XMLRecords pass. Conformance checks
// every record of Options.Records with it.
func CheckRecord(r sdk.Record) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if r.Source.Offset < 0 || r.Source.Line < 0 || r.Source.Ordinal < 0 {
		bad("negative position %+v", r.Source)
	}
	switch r.Kind {
	case sdk.XML, sdk.CSV, sdk.Line, sdk.JSON:
	default:
		bad("kind %v is not one sluice sends (sdk.XML, sdk.CSV, sdk.Line or sdk.JSON)", r.Kind)
	}
	if len(r.Data) == 0 && r.Kind != sdk.Line {
		bad("%v record with empty Data: sluice never sends one (Data holds the raw bytes: build CSV records with CSVRecords)", r.Kind)
	}
	if r.Kind != sdk.CSV && (r.Header != nil || r.Fields != nil) {
		bad("%v record with a Header or Fields: only CSV records have them", r.Kind)
	}
	switch r.Kind {
	case sdk.CSV:
		switch {
		case r.Header == nil:
			bad("CSV record without a Header (split gives every CSV record its file's header)")
		case len(r.Fields) == 0:
			bad("CSV record without Fields")
		case len(r.Fields) < len(r.Header.Names):
			bad("CSV record with %d Fields for %d Header names (split pads short rows to the header's length or rejects them)", len(r.Fields), len(r.Header.Names))
		}
	case sdk.XML:
		if len(r.Data) > 0 {
			var xr sdk.XMLReader
			rec, err := xr.Read(r.Data)
			if err == nil {
				err = rec.Check()
			}
			if err != nil {
				bad("XML Data is not one well-formed element: %w", err)
			}
		}
	case sdk.JSON:
		if len(r.Data) > 0 && !json.Valid(r.Data) {
			bad("JSON Data is not one JSON value")
		}
	}
	return errors.Join(errs...)
}

// checkRecords fails t for each record that CheckRecord rejects or that
// the plugin does not accept.
func checkRecords(t *testing.T, p sdk.Plugin, recs []sdk.Record) {
	t.Run("records", func(t *testing.T) {
		for i, r := range recs {
			if err := CheckRecord(r); err != nil {
				t.Errorf("Options.Records[%d] (%.40q) is not a record sluice sends: %v", i, r.Data, err)
			}
			if len(p.Accepts) > 0 && !slices.Contains(p.Accepts, r.Kind) {
				t.Errorf("Options.Records[%d] is a %v record, which the plugin does not accept (sdk.Plugin.Accepts)", i, r.Kind)
			}
		}
	})
}
