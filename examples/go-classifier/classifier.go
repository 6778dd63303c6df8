package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluicehq/sluice/sdk"
)

// Config is the plugin's `plugin.config` in a pipeline. newPlugin gives
// it to sdk.Plugin.Config, so `sluice validate` checks a stage's config
// against it and `sluice plugin describe` prints it: its json tags are the
// keys, its doc tags their descriptions.
type Config struct {
	// Spec is the path of the spec file, relative to the plugin's working
	// directory (the pipeline file's directory).
	Spec string `json:"spec" required:"true" doc:"Path of the spec file (spec.json), relative to the directory sluice runs in."`
	// Labels turns the lang, topics and language labels on (the default)
	// or off.
	Labels *bool `json:"labels" doc:"Attach the lang, topics and language labels (default true)."`
}

// Spec says how to classify; see spec.json. Files it names are relative to
// the spec file.
type Spec struct {
	Type     source `json:"type"`     // the first part of the category
	Title    source `json:"title"`    // the text tested for an ASCII digit
	Numbered string `json:"numbered"` // appended when the title has a digit
	Plain    string `json:"plain"`    // appended otherwise
	Lang     source `json:"lang"`     // copied into a label
	Topics   *struct {
		Keywords string `json:"keywords"` // keyword<TAB>topic lines
		Label    string `json:"label"`
	} `json:"topics"`
	Languages *struct {
		Table string `json:"table"` // code<TAB>name lines
		Label string `json:"label"`
		Cache int    `json:"cache"` // entries kept in memory
	} `json:"languages"`
}

// source names where a value comes from in an XML record (the root's
// attribute, or the text of a child element) and in a CSV record (a field).
type source struct {
	XMLAttribute string `json:"xml_attribute"`
	XMLElement   string `json:"xml_element"`
	CSVField     string `json:"csv_field"`
	Missing      string `json:"missing"` // the value when the record has none
	Label        string `json:"label"`   // the label it is copied to, if any
}

// Classifier is the plugin. Its zero value is ready for Init, which builds
// everything it uses; Classify may then run for two batches at once.
type Classifier struct {
	spec   Spec
	labels bool
	topics *matcher // compiled from the keywords file
	langs  *table   // an open file and its cache
}

var (
	_ sdk.Classifier  = (*Classifier)(nil)
	_ sdk.Initializer = (*Classifier)(nil)
	_ sdk.Shutdowner  = (*Classifier)(nil)
)

// Init reads the spec and builds the matcher and the lookup table.
func (c *Classifier) Init(_ context.Context, req *sdk.InitRequest) (*sdk.InitResponse, error) {
	var cfg Config
	if err := req.DecodeConfig(&cfg); err != nil {
		return nil, err
	}
	if cfg.Spec == "" {
		return nil, &sdk.ConfigError{Key: "spec", Err: errors.New(`"spec" is required: the path of a spec file such as examples/go-classifier/spec.json`)}
	}
	c.labels = cfg.Labels == nil || *cfg.Labels
	b, err := os.ReadFile(cfg.Spec)
	if err != nil {
		wd, _ := os.Getwd()
		return nil, fmt.Errorf("reading the spec: %w (relative paths are taken from %s)", err, wd)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c.spec); err != nil {
		return nil, fmt.Errorf("spec %s: %w", cfg.Spec, err)
	}
	dir := filepath.Dir(cfg.Spec)
	if t := c.spec.Topics; t != nil && c.labels {
		kw, err := os.ReadFile(filepath.Join(dir, t.Keywords))
		if err != nil {
			return nil, fmt.Errorf("spec %s: topics: %w", cfg.Spec, err)
		}
		var words, topics []string
		for i, line := range strings.Split(string(kw), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line[0] == '#' {
				continue
			}
			w, topic, ok := strings.Cut(line, "\t")
			if !ok {
				return nil, fmt.Errorf("%s:%d: want keyword<TAB>topic, got %q", t.Keywords, i+1, line)
			}
			words, topics = append(words, strings.ToLower(w)), append(topics, topic)
		}
		c.topics = newMatcher(words, topics)
	}
	if l := c.spec.Languages; l != nil && c.labels {
		if c.langs, err = openTable(filepath.Join(dir, l.Table), l.Cache); err != nil {
			return nil, fmt.Errorf("spec %s: languages: %w", cfg.Spec, err)
		}
	}
	return nil, nil
}

// Classify answers each record of the batch. A malformed XML record is
// rejected on its own.
func (c *Classifier) Classify(_ context.Context, req *sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) {
	resp := &sdk.ClassifyResponse{Results: make([]sdk.Result, len(req.Records))}
	var xr sdk.XMLReader // one per call: Classify may run for two batches at once
	for i := range req.Records {
		res, err := c.classify(&req.Records[i], &xr)
		if err != nil {
			res = sdk.Result{Err: err}
		}
		resp.Results[i] = res
	}
	return resp, nil
}

func (c *Classifier) classify(r *sdk.Record, xr *sdk.XMLReader) (sdk.Result, error) {
	get, err := c.reader(r, xr)
	if err != nil {
		return sdk.Result{}, err
	}
	typ, err := get(c.spec.Type)
	if err != nil {
		return sdk.Result{}, err
	}
	title, err := get(c.spec.Title)
	if err != nil {
		return sdk.Result{}, err
	}
	suffix := c.spec.Plain
	if strings.ContainsAny(title, "0123456789") {
		suffix = c.spec.Numbered
	}
	res := sdk.Result{Category: typ + suffix}
	if !c.labels {
		return res, nil
	}
	res.Labels = map[string]string{}
	lang, err := get(c.spec.Lang)
	if err != nil {
		return sdk.Result{}, err
	}
	if c.spec.Lang.Label != "" {
		res.Labels[c.spec.Lang.Label] = lang
	}
	if c.langs != nil {
		name, ok, err := c.langs.lookup(lang)
		if err != nil {
			return sdk.Result{}, err
		}
		if ok {
			res.Labels[c.spec.Languages.Label] = name
		}
	}
	if c.topics != nil {
		var topics []string
		c.topics.find(strings.ToLower(title), func(t string) {
			if !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		})
		if len(topics) > 0 {
			slices.Sort(topics)
			res.Labels[c.spec.Topics.Label] = strings.Join(topics, ",")
		}
	}
	return res, nil
}

// reader returns a function reading sources from r. For an XML record it
// reads only what is asked: the root's attributes, and the record up to the
// end of the element whose text is asked for.
func (c *Classifier) reader(r *sdk.Record, xr *sdk.XMLReader) (func(source) (string, error), error) {
	switch r.Kind {
	case sdk.CSV:
		return func(s source) (string, error) {
			if v, ok := r.Field(s.CSVField); ok && v != "" {
				return v, nil
			}
			return s.Missing, nil
		}, nil
	case sdk.XML:
		rec, err := xr.Read(r.Data)
		if err != nil {
			return nil, fmt.Errorf("malformed XML record at %s: %w", r.Source, err)
		}
		return func(s source) (string, error) {
			var v string
			var ok bool
			var err error
			switch {
			case s.XMLAttribute != "":
				v, ok, err = rec.Attr(s.XMLAttribute)
			case s.XMLElement != "":
				v, ok, err = rec.Text(s.XMLElement)
			}
			if err != nil {
				return "", fmt.Errorf("malformed XML record at %s: %w", r.Source, err)
			}
			if !ok {
				return s.Missing, nil
			}
			return v, nil
		}, nil
	}
	return nil, fmt.Errorf("cannot classify %s records", r.Kind)
}

// Shutdown closes the lookup file.
func (c *Classifier) Shutdown(context.Context) error {
	if c.langs != nil {
		return c.langs.Close()
	}
	return nil
}
