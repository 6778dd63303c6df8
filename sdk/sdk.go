package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Kind is the kind of a record.
type Kind uint8

// The record kinds a plugin can receive.
const (
	// XML is one element subtree; Data holds its raw bytes, parseable on
	// their own.
	XML Kind = iota + 1
	// CSV is one row: Fields holds the decoded values in Header order and
	// Data the row's raw bytes.
	CSV
	// Line is one line of text without its terminator.
	Line
	// JSON is one JSON value (a line of a JSON-lines file).
	JSON
)

// String returns "xml", "csv", "line" or "json".
func (k Kind) String() string {
	switch k {
	case XML:
		return "xml"
	case CSV:
		return "csv"
	case Line:
		return "line"
	case JSON:
		return "json"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Position says where a record came from in its input file.
type Position struct {
	File    string // the input file's path as the pipeline found it; "" when unknown
	Offset  int64  // byte offset of the record's first byte, from 0
	Line    int64  // line of the record's first byte, from 1; 0 when unknown
	Ordinal int64  // record number within File, from 1; 0 when unknown
}

// String formats the position as "file:line (record N, byte B)", leaving out
// what is not known.
func (p Position) String() string {
	s := p.File
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
	}
	switch {
	case p.Ordinal > 0:
		s += fmt.Sprintf(" (record %d, byte %d)", p.Ordinal, p.Offset)
	case p.Offset > 0:
		s += fmt.Sprintf(" (byte %d)", p.Offset)
	}
	return s
}

// Header names the fields of CSV records. The records of a batch that come
// from the same file share one Header. It is read-only.
type Header struct {
	Names []string
	index map[string]int
}

// NewHeader returns a header for names. A name that occurs twice resolves to
// its first column.
func NewHeader(names []string) *Header {
	h := &Header{Names: names, index: make(map[string]int, len(names))}
	for i, n := range names {
		if _, dup := h.index[n]; !dup {
			h.index[n] = i
		}
	}
	return h
}

// Index returns the column of name, or -1. It is safe on a nil Header.
func (h *Header) Index(name string) int {
	if h == nil {
		return -1
	}
	if i, ok := h.index[name]; ok {
		return i
	}
	return -1
}

// Record is one record to classify.
//
// A Record and everything it points to belong to the sdk and are valid only
// until the Classify call that received it returns: copy what you keep
// (a cache key, for example). Do not modify them.
type Record struct {
	Kind     Kind
	Data     []byte            // the raw bytes: an XML subtree, a CSV row, a line, a JSON value
	Header   *Header           // CSV: the field names; nil otherwise
	Fields   []string          // CSV: the decoded values, in Header order
	Source   Position          // where the record came from
	Category string            // the category an earlier stage set, or ""
	Labels   map[string]string // labels earlier stages attached, or nil
}

// Field returns the value of the named CSV field and whether it exists.
func (r *Record) Field(name string) (string, bool) {
	i := r.Header.Index(name)
	if i < 0 || i >= len(r.Fields) {
		return "", false
	}
	return r.Fields[i], true
}

// Result is the answer for one record.
type Result struct {
	// Category is the record's category. An empty category is a valid
	// answer (the record has none).
	Category string
	// Labels are added to the record's labels, replacing those of the
	// same name. nil adds none.
	Labels map[string]string
	// Err, when not nil, says the record could not be classified. The host
	// applies the stage's on_error policy to this record alone (fail the
	// run, skip it, or dead-letter it with this message); Category and
	// Labels are then ignored.
	Err error
}

// ClassifyRequest is one batch of records.
type ClassifyRequest struct {
	// Records are the batch's records, in the order the host sent them.
	Records []Record
}

// ClassifyResponse answers a ClassifyRequest.
type ClassifyResponse struct {
	// Results has exactly one entry per request record, in the same order.
	Results []Result
}

// Classifier classifies batches of records. It is the one interface a plugin
// implements.
//
// Classify is called once per batch (up to the stage's batch_size records).
// It is not called concurrently unless Plugin.Concurrency is above 1, in
// which case it must be safe for concurrent use. A Result.Err rejects one
// record; a returned error rejects every record of the batch with that
// message. Neither stops the plugin. A panic, or any other way the process
// dies, is a crash: the host restarts the plugin, calls Init again, re-sends
// the batches that were in flight and, if one batch crashes it twice,
// bisects it to find and reject the one record that causes the crash.
//
// ctx is cancelled when sluice closes the stream of batches (at shutdown).
// A batch that keeps the plugin silent for longer than the stage's
// plugin.timeout gets the process killed, as a crash does.
type Classifier interface {
	Classify(ctx context.Context, req *ClassifyRequest) (*ClassifyResponse, error)
}

// ClassifierFunc adapts a function to a Classifier.
type ClassifierFunc func(ctx context.Context, req *ClassifyRequest) (*ClassifyResponse, error)

var _ Classifier = ClassifierFunc(nil)

// Classify calls f.
func (f ClassifierFunc) Classify(ctx context.Context, req *ClassifyRequest) (*ClassifyResponse, error) {
	return f(ctx, req)
}

// RecordFunc is a Classifier that answers one record at a time: it is called
// for each record of a batch in order, and an error it returns becomes that
// record's Result.Err.
type RecordFunc func(ctx context.Context, r *Record) (Result, error)

var _ Classifier = RecordFunc(nil)

// Classify calls f for each record of the batch.
func (f RecordFunc) Classify(ctx context.Context, req *ClassifyRequest) (*ClassifyResponse, error) {
	resp := &ClassifyResponse{Results: make([]Result, len(req.Records))}
	for i := range req.Records {
		res, err := f(ctx, &req.Records[i])
		if err != nil {
			res = Result{Err: err}
		}
		resp.Results[i] = res
	}
	return resp, nil
}

// InitRequest is what a plugin instance is initialised with.
type InitRequest struct {
	// Config is the stage's `plugin.config` mapping as a JSON object ("{}"
	// when the pipeline gives none). DecodeConfig decodes it strictly.
	Config []byte
	// Stage is the name of the pipeline stage this instance serves.
	Stage string
	// Instance is this process's index among the stage's Instances, from 0.
	Instance  int
	Instances int
}

// DecodeConfig decodes Config into v (a pointer, usually to a struct with
// json tags, holding the defaults). A key that v has no field for is an
// error, so that a typo in the pipeline file is reported rather than
// ignored; that error and a value of the wrong type are a *ConfigError
// naming the key, which sluice shows at the key's position.
func (r *InitRequest) DecodeConfig(v any) error {
	cfg := r.Config
	if len(bytes.TrimSpace(cfg)) == 0 {
		cfg = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(cfg))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return configError(err)
	}
	return nil
}

// InitResponse is the answer to Init. It has no fields yet; returning nil is
// fine.
type InitResponse struct{}

// Initializer is implemented by classifiers that build state before the
// first batch: open files, compile patterns, load a model. Init is called
// once per process, before any Classify call, with the stage's config. An
// error stops the run before any record is read, and its message is shown
// to the user as it is, prefixed with the plugin's name: make it say what is
// wrong and how to fix it.
type Initializer interface {
	Init(ctx context.Context, req *InitRequest) (*InitResponse, error)
}

// Shutdowner is implemented by classifiers that release state when the run
// ends (flush, close files). Shutdown is called at most once, after the last
// Classify call has returned; the process is stopped after it returns or
// after a short timeout. It is not called when the plugin crashes or is
// killed, so never rely on it for correctness.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// Plugin describes a plugin to Serve.
type Plugin struct {
	// Name identifies the plugin in logs and errors. Required.
	Name string
	// Version is the plugin's own version, free-form (shown in logs).
	Version string
	// Accepts lists the record kinds the plugin classifies; nil means every
	// kind. The host rejects records of other kinds without sending them.
	Accepts []Kind
	// Classifier does the work. Required. It may also implement Initializer
	// and Shutdowner.
	Classifier Classifier
	// Concurrency is how many batches this process classifies at once; 0
	// means 1, so Classify is never called concurrently. Raise it only for
	// a Classifier that is safe for concurrent use and whose batches wait
	// on something other than the CPU; to use more cores, the stage runs
	// more instances (processes) instead.
	Concurrency int
	// Config is the plugin's config struct (or a pointer to it) holding
	// its defaults, the value Init decodes `plugin.config` into with
	// DecodeConfig. When set, Describe sends its schema (see
	// ConfigSchema), so that `sluice validate` checks a stage's config
	// before the run and `sluice plugin describe` documents it. nil says
	// nothing: the config is then checked only by Init.
	Config any
}

func (p *Plugin) validate() error {
	var errs []error
	if p.Name == "" {
		errs = append(errs, errors.New("Plugin.Name is empty"))
	}
	if p.Classifier == nil {
		errs = append(errs, errors.New("Plugin.Classifier is nil"))
	}
	if p.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("Plugin.Concurrency is %d, must be 0 or more", p.Concurrency))
	}
	for _, k := range p.Accepts {
		if k < XML || k > JSON {
			errs = append(errs, fmt.Errorf("Plugin.Accepts has an unknown kind %d", k))
		}
	}
	if p.Config != nil {
		if _, err := ConfigSchema(p.Config); err != nil {
			errs = append(errs, fmt.Errorf("Plugin.Config: %w", err))
		}
	}
	return errors.Join(errs...)
}
