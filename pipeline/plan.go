package pipeline

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"

	"github.com/sluicehq/sluice/stage"
	"gopkg.in/yaml.v3"
)

// Graph is a planned pipeline: every stage built, every edge checked. It is
// what runs; Config is what the user wrote.
type Graph struct {
	Name      string
	File      string
	BatchSize int
	Queue     int
	// Nodes are in topological order: every node comes after its inputs.
	Nodes []*Node
	// Outputs are the paths the stages write (options tagged
	// path:"output", dead-letter files), in the pipeline's order: where a
	// run leaves its commit journal (see Recover).
	Outputs []string
}

// Node is one planned stage.
type Node struct {
	Name  string
	Kind  string
	Stage stage.Stage
	// Inputs and Outputs are the nodes this one consumes from and feeds.
	Inputs, Outputs []*Node
	// Workers is the resolved number of workers (auto resolved to cores).
	Workers    int
	Ordered    bool
	OnError    ErrorPolicy
	DeadLetter string
	// In is the set of record kinds arriving (union of inputs' Out); Out is
	// what the stage emits.
	In, Out stage.Type
	// Use is the name of the template use (in the pipeline or an included
	// file) this stage was expanded from, and UseTemplate that template's
	// name; both "" for a stage written in the pipeline.
	Use, UseTemplate string

	inputs    []inputRef       // paths the stage reads (InputPather), for CheckInputs
	optionPos func(string) Pos // where an option is written, for Check
}

// Plan looks up each stage's kind in reg, decodes and validates its
// options, builds it, and checks the graph: unknown kinds and inputs (with
// a "did you mean"), cycles, sources with inputs, stages without inputs,
// record kinds on every edge, and outputs that nobody consumes. Every
// problem is reported at once, as an ErrorList.
func Plan(cfg *Config, reg *stage.Registry) (*Graph, error) {
	pl := &planner{cfg: cfg, reg: reg, byName: map[string]*Node{}, confs: map[*Node]*StageConfig{}, inPos: map[*Node][]Pos{}, outputs: map[string]claimedOutput{}}
	g := pl.plan()
	pl.errs.Sort()
	if err := pl.errs.Err(); err != nil {
		return nil, err
	}
	return g, nil
}

type planner struct {
	cfg    *Config
	reg    *stage.Registry
	errs   ErrorList
	byName map[string]*Node
	confs  map[*Node]*StageConfig
	inPos  map[*Node][]Pos // where each of a node's Inputs is named
	// outputs are the paths stages write (see claimOutput), by absolute
	// path.
	outputs map[string]claimedOutput
	outList []string // the same paths, in the pipeline's order
}

// claimedOutput is a path a stage writes.
type claimedOutput struct {
	stage, option string
}

func (pl *planner) errorf(at Pos, stage, format string, args ...any) {
	pl.errs.Add(newError(pl.cfg.File, at, stage, fmt.Sprintf(format, args...)))
}

func (pl *planner) plan() *Graph {
	g := &Graph{Name: pl.cfg.Name, File: pl.cfg.File, BatchSize: pl.cfg.BatchSize, Queue: pl.cfg.Queue}
	var nodes []*Node
	for _, sc := range pl.cfg.Stages {
		n := &Node{Name: sc.Name, Kind: sc.Use, Ordered: sc.Ordered, OnError: sc.OnError, DeadLetter: outputPath(pl.cfg.OutputDir, sc.DeadLetter)}
		pl.byName[sc.Name] = n
		for use, t := range pl.cfg.uses {
			if sc.Name == use || strings.HasPrefix(sc.Name, use+".") {
				n.Use, n.UseTemplate = use, t
			}
		}
		pl.confs[n] = sc
		nodes = append(nodes, n)
		pl.build(n, sc)
	}
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	for _, n := range nodes {
		sc := pl.confs[n]
		for i, from := range sc.From {
			in, ok := pl.byName[from]
			switch {
			case !ok && pl.cfg.broken[from]:
				// its definition failed, and was reported
			case !ok:
				pl.errorf(sc.fromAt(i), n.Name, "input %q doesn't match any stage%s", from, suggest(from, names))
			case in == n:
				pl.errorf(sc.fromAt(i), n.Name, "stage reads its own output (cycle %s -> %s)", n.Name, n.Name)
			default:
				n.Inputs = append(n.Inputs, in)
				pl.inPos[n] = append(pl.inPos[n], sc.fromAt(i))
				in.Outputs = append(in.Outputs, n)
			}
		}
	}
	pl.checkSources(nodes)
	order, ok := pl.topoSort(nodes)
	if !ok {
		return nil
	}
	g.Nodes = order
	g.Outputs = pl.outList
	pl.checkShape(order)
	if len(pl.errs) > 0 {
		return nil
	}
	return g
}

// build decodes the options of one stage and builds it.
func (pl *planner) build(n *Node, sc *StageConfig) {
	if sc.Use == "" {
		return
	}
	kind, ok := pl.reg.Lookup(sc.Use)
	if !ok {
		pl.errorf(sc.usePos, n.Name, "unknown stage kind %q%s (known kinds: %s)", sc.Use, suggest(sc.Use, kindNames(pl.reg)), strings.Join(kindNames(pl.reg), ", "))
		return
	}
	opts := kind.Defaults()
	errs, nodes := decodeOptions(sc.With, opts, pl.cfg.src, pl.cfg.File)
	for _, e := range errs {
		e.Stage = n.Name
		pl.errs.Add(e)
	}
	if len(errs) > 0 {
		return
	}
	if pl.cfg.OutputDir != "" {
		rebaseOutputs(reflect.ValueOf(opts), pl.cfg.OutputDir)
	}
	outputOptions(reflect.ValueOf(opts), "", func(path string, f reflect.Value) {
		at := sc.fieldPos["with"]
		if yn, ok := nodes[path]; ok {
			at = pl.cfg.src.pos(yn)
		}
		pl.claimOutput(at, n.Name, path, f.String())
	})
	if sc.OnError == OnErrorDeadLetter && n.DeadLetter != "" {
		pl.claimOutput(sc.fieldPos["dead_letter"], n.Name, "dead_letter", n.DeadLetter)
	}
	st, err := kind.Build(opts)
	if err != nil {
		pl.buildErrors(n, sc, nodes, err)
		return
	}
	n.Stage = st
	pl.noteInputs(n, sc, st, nodes)
	n.optionPos = pl.optionKeys(sc, nodes)
	sig := st.Signature()
	workers := sc.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
		if sig.MaxWorkers > 0 {
			workers = min(workers, sig.MaxWorkers)
		}
	} else if sig.MaxWorkers > 0 && workers > sig.MaxWorkers {
		pl.errorf(sc.fieldPos["workers"], n.Name, "workers: %s runs at most %d worker(s), got %d", sc.Use, sig.MaxWorkers, workers)
	}
	if _, isSource := st.(stage.Source); isSource {
		workers = 1
	}
	n.Workers = workers
	if _, ok := st.(stage.Source); !ok {
		if _, ok := st.(stage.Processor); !ok {
			if _, ok := st.(stage.BatchProcessor); !ok {
				if _, ok := st.(stage.Aggregator); !ok {
					panic(fmt.Sprintf("pipeline: stage kind %q built a %T, which implements none of Source, Processor, BatchProcessor, Aggregator", sc.Use, st))
				}
			}
		}
	}
}

// claimOutput records that the stage writes path (its option option), and
// reports a path that another stage writes too: each would replace the
// other's output when the run ends, or mix into it, and which one wins
// could change from run to run.
func (pl *planner) claimOutput(at Pos, stage, option, path string) {
	if path == "" {
		return
	}
	key, err := filepath.Abs(path)
	if err != nil {
		key = filepath.Clean(path)
	}
	if prev, ok := pl.outputs[key]; ok {
		pl.errorf(at, stage, "%s: %s is also written by stage %q (its %s); two stages cannot write one path, give each its own", option, path, prev.stage, prev.option)
		return
	}
	pl.outputs[key] = claimedOutput{stage: stage, option: option}
	pl.outList = append(pl.outList, path)
}

// buildErrors reports errors from a kind's build function, each at the
// option it names when it was made with OptionError.
func (pl *planner) buildErrors(n *Node, sc *StageConfig, nodes map[string]*yaml.Node, err error) {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		at := sc.fieldPos["with"]
		if at.Line == 0 {
			at = sc.usePos
		}
		var oe interface {
			error
			OptionPath() string
		}
		if errors.As(e, &oe) {
			// Walk up the path until a decoded node is found: an option that
			// was left at its default has no node, its parent may.
			for p := oe.OptionPath(); ; {
				if yn, ok := nodes[p]; ok && p != "" {
					at = pl.cfg.src.pos(yn)
					break
				}
				i := strings.LastIndexAny(p, ".[")
				if i < 0 {
					break
				}
				p = p[:i]
			}
			pl.errorf(at, n.Name, "%s", oe.Error())
			continue
		}
		pl.errorf(at, n.Name, "%v", e)
	}
}

// topoSort orders nodes so that inputs come first (Kahn's algorithm, ties
// in file order), and reports every cycle by name.
func (pl *planner) topoSort(nodes []*Node) ([]*Node, bool) {
	indeg := map[*Node]int{}
	for _, n := range nodes {
		indeg[n] = len(n.Inputs)
	}
	var order []*Node
	for progress := true; progress; {
		progress = false
		for _, n := range nodes {
			if indeg[n] == 0 {
				indeg[n] = -1
				order = append(order, n)
				for _, o := range n.Outputs {
					indeg[o]--
				}
				progress = true
			}
		}
	}
	if len(order) == len(nodes) {
		return order, true
	}
	// Report each cycle once, starting from its first stage in file order.
	reported := map[*Node]bool{}
	for _, n := range nodes {
		if indeg[n] <= 0 || reported[n] {
			continue
		}
		cycle := findCycle(n)
		if cycle == nil {
			continue
		}
		names := make([]string, len(cycle))
		for i, c := range cycle {
			names[i] = c.Name
			reported[c] = true
		}
		sc := pl.confs[cycle[0]]
		at := sc.pos
		if len(sc.fromPos) > 0 {
			at = sc.fromAt(0)
		}
		pl.errorf(at, cycle[0].Name, "cyclic dependency: %s -> %s", strings.Join(names, " -> "), names[0])
	}
	return nil, false
}

// findCycle returns a cycle through start following outputs, in flow
// order, or nil.
func findCycle(start *Node) []*Node {
	var path []*Node
	onPath := map[*Node]int{}
	visited := map[*Node]bool{}
	var dfs func(n *Node) []*Node
	dfs = func(n *Node) []*Node {
		if i, ok := onPath[n]; ok {
			return append([]*Node(nil), path[i:]...)
		}
		if visited[n] {
			return nil
		}
		visited[n] = true
		onPath[n] = len(path)
		path = append(path, n)
		for _, o := range n.Outputs {
			if c := dfs(o); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		delete(onPath, n)
		return nil
	}
	return dfs(start)
}

// checkShape checks sources, inputs, record kinds and consumers, in
// topological order so that passthrough kinds are resolved first.
func (pl *planner) checkShape(order []*Node) {
	for _, n := range order {
		if n.Stage == nil {
			continue // its build failed and was reported
		}
		sc := pl.confs[n]
		sig := n.Stage.Signature()
		_, isSource := n.Stage.(stage.Source)
		if isSource {
			if len(sc.From) > 0 {
				pl.errorf(sc.fromAt(0), n.Name, "%s is a source and takes no input: remove from:", n.Kind)
			}
			n.Out = sig.Out
		} else {
			if len(sc.From) == 0 {
				pl.errorf(sc.pos, n.Name, "no input: add from: naming the stage(s) it reads")
			}
			for i, in := range n.Inputs {
				if in.Stage == nil {
					continue
				}
				insig := in.Stage.Signature()
				if insig.Out == stage.None && !insig.Passthrough {
					pl.errorf(pl.inPos[n][i], n.Name, "input %q (%s) emits no records", in.Name, in.Kind)
					continue
				}
				if bad := in.Out &^ sig.In; bad != stage.None {
					pl.errorf(pl.inPos[n][i], n.Name, "%s accepts %s records, but input %q (%s) emits %s", n.Kind, sig.In, in.Name, in.Kind, in.Out)
				}
				n.In |= in.Out
			}
			n.Out = sig.Out
			if sig.Passthrough {
				n.Out = n.In
			}
		}
		if len(n.Outputs) == 0 && !sig.Terminal && n.Out != stage.None && !pl.cfg.readBy[n.Name] {
			pl.errorf(sc.pos, n.Name, "output of %s stage %q is not consumed by any stage: add a stage with from: %s, or remove it", n.Kind, sc.ref, sc.ref)
		}
	}
}

// checkSources reports a pipeline without any source, when every stage
// was built (otherwise the missing source may be the one that failed).
func (pl *planner) checkSources(nodes []*Node) {
	for _, n := range nodes {
		if n.Stage == nil {
			return
		}
		if _, ok := n.Stage.(stage.Source); ok {
			return
		}
	}
	if len(nodes) > 0 {
		pl.errorf(pl.confs[nodes[0]].pos, "", "no source stage: a pipeline needs a stage such as read that takes no input")
	}
}

// kindNames returns the names of reg's kinds, sorted.
func kindNames(reg *stage.Registry) []string {
	kinds := reg.Kinds()
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	return names
}
