package pipeline

import (
	"fmt"
	"github.com/sluicehq/sluice/stage"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Loader reads pipelines together with the files they name: the files
// they include and the templates their stages use. The zero Loader reads
// from the file system, interpolates the process environment and finds
// no templates by name; set Registry so that `use:` names which are not
// stage kinds are looked up on SearchPath.
type Loader struct {
	// Registry has the stage kinds, for Load and for telling kinds from
	// template names. A kind shadows a template of the same name.
	Registry *stage.Registry
	// SearchPath lists directories where a template named without a path
	// (`use: xml-records`) is looked for, as NAME.yaml, in order. The CLI
	// takes it from SLUICE_PATH (see SearchPathFromEnv).
	SearchPath []string
	// LookupEnv resolves ${NAME} in scalar values; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads included and template files (and the pipeline, for
	// LoadFile and ParseFile); nil reads regular files from the file
	// system, refusing files over 16 MiB.
	ReadFile func(path string) ([]byte, error)
	// ReadDir lists a directory of SearchPath, for Templates; nil reads
	// the file system (os.ReadDir). A Loader with its own ReadFile sets it
	// too, so that its templates can be listed.
	ReadDir func(dir string) ([]fs.DirEntry, error)
}

// SearchPathEnv is the environment variable listing template directories.
const SearchPathEnv = "SLUICE_PATH"

// SearchPathFromEnv returns the directories listed in SLUICE_PATH,
// separated as in PATH (':' on Unix).
func SearchPathFromEnv() []string {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv(SearchPathEnv)) {
		if d != "" {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// Parse parses a pipeline file with the zero Loader: the process
// environment, no template search path. name is used in errors and to
// resolve includes and template paths; src is the file's content. Every
// problem is reported at once as an ErrorList. As go/parser does, Parse
// returns what it could parse along with the errors (nil only when the
// file is not a YAML mapping), so that Load can report planning problems
// too.
func Parse(name string, src []byte) (*Config, error) {
	return (&Loader{}).Parse(name, src)
}

// ParseEnv is Parse with the environment lookup given.
func ParseEnv(name string, src []byte, lookup func(string) (string, bool)) (*Config, error) {
	return (&Loader{LookupEnv: lookup}).Parse(name, src)
}

// Load parses and plans a pipeline with a Loader that has reg and no
// template search path, reporting the problems of both steps at once.
func Load(name string, src []byte, reg *stage.Registry) (*Graph, error) {
	return LoadWith(&Loader{Registry: reg}, name, src)
}

// Parse parses a pipeline file, merging its includes and expanding its
// template uses. See the package Parse.
func (l *Loader) Parse(name string, src []byte) (*Config, error) {
	p := newParser(l, name)
	cfg := p.parse(src)
	p.errs.Sort()
	return cfg, p.errs.Err()
}

// ParseFile reads and parses the pipeline file at path.
func (l *Loader) ParseFile(path string) (*Config, error) {
	src, err := l.Read(path)
	if err != nil {
		return nil, err
	}
	return l.Parse(path, src)
}

// LoadWith parses a pipeline with l and plans it with l's Registry,
// reporting the problems of both steps at once, sorted by position.
func LoadWith(l *Loader, name string, src []byte) (*Graph, error) {
	cfg, perr := l.Parse(name, src)
	if cfg == nil {
		return nil, perr
	}
	reg := l.Registry
	if reg == nil {
		reg = stage.NewRegistry()
	}
	g, err := Plan(cfg, reg)
	if perr == nil {
		return g, err
	}
	all := append(ErrorList(nil), perr.(ErrorList)...)
	if el, ok := err.(ErrorList); ok {
		all = append(all, el...)
	}
	all.Sort()
	return nil, all
}

// LoadFile reads the pipeline file at path with l, and parses and plans it
// as LoadWith does.
func LoadFile(l *Loader, path string) (*Graph, error) {
	src, err := l.Read(path)
	if err != nil {
		return nil, err
	}
	return LoadWith(l, path, src)
}

// maxFileSize bounds what the default ReadFile reads: pipelines and
// templates are small, and a path such as /dev/zero must not hang a load.
const maxFileSize = 16 << 20

// Read reads a pipeline, include or template file with l's ReadFile, or
// from the file system (refusing files over 16 MiB).
func (l *Loader) Read(path string) ([]byte, error) {
	if l.ReadFile != nil {
		return l.ReadFile(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a pipeline file may have", path, st.Size(), maxFileSize)
	}
	return io.ReadAll(io.LimitReader(f, maxFileSize))
}

func (l *Loader) lookupEnv(name string) (string, bool) {
	if l.LookupEnv != nil {
		return l.LookupEnv(name)
	}
	return os.LookupEnv(name)
}

// isKind reports whether name is a registered stage kind.
func (l *Loader) isKind(name string) bool {
	if l.Registry == nil {
		return false
	}
	_, ok := l.Registry.Lookup(name)
	return ok
}

// isTemplatePath reports whether a `use:` value names a template file
// rather than a kind: it has a directory or a .yaml/.yml extension.
func isTemplatePath(use string) bool {
	return strings.ContainsRune(use, '/') || strings.HasSuffix(use, ".yaml") || strings.HasSuffix(use, ".yml")
}

// resolve returns the file a `use:` value names, relative to the file
// holding it, or "" when it names a stage kind (or nothing found).
func (l *Loader) resolveUse(use, fromFile string) string {
	if isTemplatePath(use) {
		return relTo(fromFile, use)
	}
	if l.isKind(use) || use == "" {
		return ""
	}
	for _, dir := range l.SearchPath {
		for _, ext := range []string{".yaml", ".yml"} {
			// Through ReadFile, so that a Loader reading from elsewhere (an
			// embedded file system) finds its templates too.
			p := filepath.Join(dir, use+ext)
			if _, err := l.Read(p); err == nil {
				return p
			}
		}
	}
	return ""
}

// relTo resolves path against the directory of the file from.
func relTo(from, path string) string {
	if filepath.IsAbs(path) {
		return filepath.Clean(path)
	}
	return filepath.Join(filepath.Dir(from), path)
}
