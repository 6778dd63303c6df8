package write

import (
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sluicehq/sluice/stage"
)

//go:embed sample.yaml
var sample []byte

// Kind returns the write stage kind, for registration in a stage.Registry.
func Kind() stage.Kind {
	return stage.Define("write",
		"Write records to one file per category or label value, committed atomically",
		sample, newDefaults, build)
}

// Options configure a write stage. The zero value is not valid: start from
// DefaultOptions and set Dir.
type Options struct {
	Dir         string         `yaml:"dir" path:"output" doc:"Directory the output files go into; created if missing (required). - writes every record to standard output instead, as one output with no split, once the run has succeeded."`
	By          string         `yaml:"by" pattern:"^(category|label:.+)$" doc:"What picks a record's file: \"category\" (when unset), or \"label:NAME\" for the value of the record's label NAME; records with no value go to \"uncategorised\". Not with dir: -."`
	Name        string         `yaml:"name" doc:"File name template: {key} is the sanitised key and {ext} is .xml, .csv, .txt or .jsonl by record kind."`
	MaxOpen     int            `yaml:"max_open" max:"65536" doc:"Most files held open at once; beyond it the least recently used file is flushed and closed, and reopened for append when needed."`
	Buffer      stage.ByteSize `yaml:"buffer" max:"256MiB" doc:"Write buffer per open file; the stage holds at most max_open of them."`
	XMLRoot     string         `yaml:"xml_root" doc:"Name of the root element that wraps the records of each XML output."`
	Sync        bool           `yaml:"sync" doc:"Flush each file to stable storage (fsync) before it is renamed into place, so that a crash cannot leave a partial file under a final name."`
	Format      string         `yaml:"format" enum:"native|jsonl|csv" doc:"How records are written: native (each kind as itself: XML, CSV, lines, JSON lines), jsonl (JSON records, CSV rows as objects of their header's names, lines as {\"line\": …}) or csv (CSV rows, and JSON objects as rows of the columns in fields). XML records are written natively only: turn them into fields with a map stage first."`
	Fields      []string       `yaml:"fields" doc:"The columns to write, in order, with format csv or jsonl: names of JSON object fields or of the CSV header's columns; required for JSON records written as csv."`
	WriteBehind stage.ByteSize `yaml:"write_behind" max:"1GiB" doc:"Linux: every this many bytes of a file, start writing them to disk, and drop from the page cache what lies 4 such steps back, so that outputs of any size hold little memory and fsync has little left to do; 0 leaves it all to the kernel."`
}

// DefaultOptions returns the options a pipeline gets when it leaves them
// out. Dir has no default.
func DefaultOptions() Options {
	return Options{
		Name:        "{key}{ext}",
		MaxOpen:     256,
		Buffer:      64 << 10,
		XMLRoot:     "records",
		Format:      formatNative,
		Sync:        true,
		WriteBehind: 8 << 20,
	}
}

func newDefaults() *Options {
	o := DefaultOptions()
	return &o
}

func build(o *Options) (stage.Stage, error) { return New(*o) }

const (
	minBuffer = 4 << 10
	// minWriteBehind keeps write-behind's system calls rare next to the
	// writes.
	minWriteBehind = 64 << 10
	maxBuffer      = 256 << 20
	maxMaxOpen     = 1 << 16
)

// extensions gives the {ext} of each record kind.
var extensions = map[stage.Type]string{
	stage.XML:  ".xml",
	stage.CSV:  ".csv",
	stage.Line: ".txt",
	stage.JSON: ".jsonl",
}

// New checks opts and returns a Writer. It does not touch the filesystem:
// the output and staging directories are created by Setup.
func New(opts Options) (*Writer, error) {
	var errs []error
	if strings.TrimSpace(opts.Dir) == "" {
		errs = append(errs, stage.OptionError("dir", "required: the directory to write into, e.g. out/sorted"))
	}
	label, err := parseBy(opts.By)
	if err != nil {
		errs = append(errs, err)
	}
	tmpl, err := parseTemplate(opts.Name)
	if err != nil {
		errs = append(errs, stage.OptionError("name", "%s", err))
	}
	if opts.MaxOpen < 1 || opts.MaxOpen > maxMaxOpen {
		errs = append(errs, stage.OptionError("max_open", "must be between 1 and %d, got %d", maxMaxOpen, opts.MaxOpen))
	}
	if opts.Buffer < minBuffer || opts.Buffer > maxBuffer {
		errs = append(errs, stage.OptionError("buffer", "must be between %s and %s, got %s", stage.ByteSize(minBuffer), stage.ByteSize(maxBuffer), opts.Buffer))
	}
	if opts.WriteBehind != 0 && opts.WriteBehind < minWriteBehind {
		errs = append(errs, stage.OptionError("write_behind", "must be 0 (off) or at least %s, got %s", stage.ByteSize(minWriteBehind), opts.WriteBehind))
	}
	if err := checkXMLName(opts.XMLRoot); err != nil {
		errs = append(errs, stage.OptionError("xml_root", "%s", err))
	}
	switch opts.Format {
	case formatNative:
		if len(opts.Fields) > 0 {
			errs = append(errs, stage.OptionError("fields", "fields choose columns for format: csv or jsonl; set one of those"))
		}
	case formatCSV, formatJSONL:
		seen := map[string]bool{}
		for i, f := range opts.Fields {
			if f == "" || seen[f] {
				errs = append(errs, stage.OptionError(fmt.Sprintf("fields[%d]", i), "a column needs a name, given once, got %q", f))
			}
			seen[f] = true
		}
	default:
		errs = append(errs, stage.OptionError("format", "expected native, jsonl or csv, got %q", opts.Format))
	}
	if opts.Dir == stdoutName && opts.By != "" {
		errs = append(errs, stage.OptionError("by", "%q: standard output (dir: -) is one output, with no split by category or label: leave by out, or write to a directory", opts.By))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Writer{
		stdout:   opts.Dir == stdoutName,
		conv:     newConverter(opts.Format, opts.Fields),
		opts:     opts,
		dir:      filepath.Clean(opts.Dir),
		label:    label,
		names:    newNamer(tmpl),
		limit:    opts.MaxOpen,
		files:    map[claim]*file{},
		openFile: osOpenFile,
	}, nil
}

// parseBy returns the label name of "label:NAME", or "" for "category".
func parseBy(by string) (string, error) {
	if by == "category" || by == "" {
		return "", nil
	}
	if name, ok := strings.CutPrefix(by, "label:"); ok {
		if name == "" {
			return "", stage.OptionError("by", "%q names no label; write \"label:NAME\"", by)
		}
		return name, nil
	}
	return "", stage.OptionError("by", "must be \"category\" or \"label:NAME\", got %q", by)
}

// checkXMLName accepts element names without a namespace prefix that XML
// does not reserve.
func checkXMLName(name string) error {
	if name == "" {
		return errors.New("must not be empty")
	}
	for i, r := range name {
		ok := unicode.IsLetter(r) || r == '_' ||
			i > 0 && (unicode.IsDigit(r) || r == '-' || r == '.')
		if !ok || r == utf8.RuneError {
			return fmt.Errorf("%q is not an XML element name (letters, digits, \"_\", \"-\", \".\", starting with a letter or \"_\")", name)
		}
	}
	if strings.HasPrefix(strings.ToLower(name), "xml") {
		return fmt.Errorf("%q: names starting with \"xml\" are reserved by XML", name)
	}
	return nil
}
