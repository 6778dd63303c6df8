package pipeline

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// Config is a parsed pipeline: what the user asked for, with its included
// files merged in and its template uses expanded, before any stage kind is
// looked up. Plan turns it into a runnable Graph.
type Config struct {
	// File is the name the pipeline was parsed under, used in errors.
	File string
	// Files lists every file read: the pipeline, then the files it
	// includes and the templates it uses, each once.
	Files []string
	// Name is the pipeline's `name:`.
	Name string
	// BatchSize is the number of records per batch between stages.
	BatchSize int
	// Queue is the capacity, in batches, of each stage's input channel.
	Queue int
	// OutputDir, when set, is where every output goes: Plan joins it to
	// the paths of options tagged path:"output" (write's dir, count's
	// output) and of dead-letter files, so that a test or a dry run
	// writes nothing elsewhere. Absolute paths are re-rooted in it.
	OutputDir string
	// Stages are in the order the files list them, included files first,
	// each template use replaced by the stages of the template.
	Stages []*StageConfig

	src    sources             // where each YAML node was read from
	broken map[string]bool     // stages whose definition failed (a template use with bad parameters)
	readBy map[string]bool     // stages read by a broken stage, so not "unconsumed"
	inputs map[string][]string // template use name → the stages its from: went to
	uses   map[string]string   // top-level template use name → its template's name
}

// Default pipeline settings.
const (
	DefaultBatchSize = 512
	DefaultQueue     = 8
)

// Bounds of the pipeline settings, checked by Parse (so by `sluice
// validate`): each batch is allocated whole and each queue holds batches,
// so unbounded values would exhaust memory at run time.
const (
	MaxBatchSize = 1 << 16 // batch_size
	MaxQueue     = 1 << 12 // queue
	MaxHeld      = 1 << 20 // batch_size × queue: records between two stages
	MaxWorkers   = 1 << 10 // a stage's workers
)

// ErrorPolicy says what a stage does with a record it cannot process.
type ErrorPolicy string

// The error policies.
const (
	// OnErrorFail cancels the run and reports the record (the default).
	OnErrorFail ErrorPolicy = "fail"
	// OnErrorSkip counts and logs the record, and goes on.
	OnErrorSkip ErrorPolicy = "skip"
	// OnErrorDeadLetter writes the record and the reason to the stage's
	// dead-letter file, and goes on.
	OnErrorDeadLetter ErrorPolicy = "dead_letter"
)

// StageConfig is one entry of `stages:`, or one stage of a template use.
type StageConfig struct {
	// Name is the stage's name. A template use named N expands to stages
	// named N.S for each stage S of the template, or to one stage named N
	// when the template has one stage.
	Name string
	// Template is the file of the template this stage comes from, or "".
	Template string
	// Use is the stage kind.
	Use string
	// From lists the stages whose output this stage consumes.
	From []string
	// Workers is the number of concurrent workers; 0 means one per core
	// (`workers: auto`, the default).
	Workers int
	// Ordered keeps the order of input batches in the output.
	Ordered bool
	// OnError is the stage's error policy.
	OnError ErrorPolicy
	// DeadLetter is the dead-letter file for OnErrorDeadLetter.
	DeadLetter string
	// With is the `with:` mapping (nil when absent): the kind's options,
	// decoded by Plan, or the template's parameters before expansion.
	With *yaml.Node

	pos      Pos            // of the stage's name
	usePos   Pos            // of the `use:` value
	fromPos  []Pos          // of each `from:` entry
	fieldPos map[string]Pos // of each key of the stage mapping
	ref      string         // the name other stages write in from: to read this one
}

// KeyDoc documents one key of the pipeline file.
type KeyDoc struct{ Key, Type, Default, Doc string }

var pipelineKeys = []KeyDoc{
	{"name", "string", "", "The pipeline's name, shown in summaries and graphs."},
	{"include", "path or list of paths", "", "Files whose `stages:` join this pipeline's (relative to the including file); they may include others. A stage name defined twice, in any of the files, is an error."},
	{"batch_size", "integer", "512", "Records per batch between stages: larger batches amortise channel costs, smaller ones lower latency and memory. At most 65536, and batch_size × queue at most 1048576."},
	{"queue", "integer", "8", "Capacity of each stage's input channel, in batches; with batch_size it bounds the memory held between two stages. At most 4096."},
	{"stages", "mapping", "", "The stages, by name (letters, digits, `_`, `-`). Each stage is a mapping with the keys below."},
}

var stageKeyDocs = []KeyDoc{
	{"use", "string", "", "The stage kind (see the stage reference), or a template: a path (`./lib/x.yaml`, relative to this file) or a name found on SLUICE_PATH. Required."},
	{"from", "string or list", "", "The stage(s) whose output this stage reads. Several names are a fan-in; a stage named by several others is a fan-out (each consumer gets every record). Required except for sources."},
	{"workers", "integer or `auto`", "auto", "Concurrent workers; `auto` is one per core. Sources always run on one. At most 1024."},
	{"ordered", "bool", "false", "Keep input order in the output when workers > 1: each batch's output waits in a bounded queue until the batches before it are sent, so a worker may idle but memory stays bounded."},
	{"on_error", "`fail`, `skip` or `dead_letter`", "fail", "What to do with a record the stage cannot process: stop the run and report it, count and log it, or write it with the reason to the dead-letter file."},
	{"dead_letter", "path", "dead-letters/STAGE.jsonl", "The dead-letter file (JSON lines) for `on_error: dead_letter`."},
	{"with", "mapping", "", "The kind's options, or the template's parameters. Unknown options are errors."},
}

// PipelineKeys documents the top-level keys of a pipeline file.
func PipelineKeys() []KeyDoc { return append([]KeyDoc(nil), pipelineKeys...) }

// StageKeys documents the keys of each entry of `stages:`.
func StageKeys() []KeyDoc { return append([]KeyDoc(nil), stageKeyDocs...) }

func keyNames(docs []KeyDoc) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.Key
	}
	return out
}

var (
	topKeys   = keyNames(pipelineKeys)
	stageKeys = keyNames(stageKeyDocs)
	nameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
)
