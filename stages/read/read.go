package read

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/sluicehq/sluice/stage"
	"github.com/sluicehq/sluice/stages/internal/inputfile"
)

//go:embed sample.yaml
var sample []byte

// Options configure the read stage.
type Options struct {
	Path      string `yaml:"path" doc:"A file, or a directory whose files are read. Regular files only: a named pipe, device or socket is refused (in a directory, skipped with a warning). - reads standard input instead, streamed by one reader (never cut into byte ranges), with progress in bytes read and no total."`
	Glob      string `yaml:"glob" doc:"Pattern that file names must match, in path.Match syntax (e.g. \"*.xml\"); empty means every file."`
	Recursive bool   `yaml:"recursive" doc:"Also read files in subdirectories."`
	Hidden    bool   `yaml:"hidden" doc:"Include files and directories whose names start with a dot."`
}

// Kind returns the read stage kind.
func Kind() stage.Kind {
	return stage.Define("read", "List input files (a file or a directory) for the next stage to stream; gzip and zstd are decompressed transparently.",
		sample, func() *Options { return &Options{} }, build)
}

func build(o *Options) (stage.Stage, error) {
	var errs []error
	if o.Path == "" {
		errs = append(errs, stage.OptionError("path", "required: the file or directory to read"))
	}
	if o.Glob != "" {
		if _, err := path.Match(o.Glob, ""); err != nil {
			errs = append(errs, stage.OptionError("glob", "invalid pattern %q: %v", o.Glob, err))
		}
	}
	if o.Path == inputfile.StdinPath {
		for _, opt := range []struct {
			name string
			set  bool
		}{{"glob", o.Glob != ""}, {"recursive", o.Recursive}, {"hidden", o.Hidden}} {
			if opt.set {
				errs = append(errs, stage.OptionError(opt.name, "applies to a directory, and path - is standard input: leave %s out", opt.name))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Stage{opts: *o}, nil
}

// Stage is a built read stage. Setup lists the files; Read emits them.
type Stage struct {
	opts  Options
	files []fileInfo
	total int64
}

type fileInfo struct {
	path string
	size int64
}

var (
	_ stage.Source   = (*Stage)(nil)
	_ stage.Setupper = (*Stage)(nil)
	_ stage.Sizer    = (*Stage)(nil)
)

// Signature implements stage.Stage: a source of File records.
func (s *Stage) Signature() stage.Signature { return stage.Signature{Out: stage.File} }

// Setup lists the input files and their total size.
func (s *Stage) Setup(ctx context.Context, env stage.Env) error {
	files, skipped, err := s.list()
	if err != nil {
		return err
	}
	for _, sk := range skipped {
		env.Log.Warn("special file skipped: only regular files are read", "path", sk.path, "type", sk.kind)
	}
	s.files = files
	for _, f := range files {
		s.total += f.size
	}
	env.Log.Debug("input files listed", "files", len(files), "bytes", s.total)
	return nil
}

// TotalBytes is the size on disk of every input file, known after Setup;
// 0 (unknown) for standard input.
func (s *Stage) TotalBytes() int64 { return s.total }

// Read emits one File record per input file, in order.
func (s *Stage) Read(ctx context.Context, out stage.Emitter) error {
	for _, f := range s.files {
		r := stage.Record{Type: stage.File, Source: stage.Position{File: f.path}, Size: f.size}
		if err := out.Emit(&r); err != nil {
			return err
		}
	}
	return nil
}

// skippedFile is a special file met in a directory, which list leaves out.
type skippedFile struct{ path, kind string }

// list returns the input files, and the special files it left out of a
// directory. A path naming a special file itself is an error.
func (s *Stage) list() ([]fileInfo, []skippedFile, error) {
	root := s.opts.Path
	if root == inputfile.StdinPath {
		return []fileInfo{{path: inputfile.StdinPath}}, nil, nil // size unknown: no total
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", root, errors.Unwrap(err))
	}
	if !st.IsDir() {
		if err := inputfile.Regular(root, st.Mode()); err != nil {
			return nil, nil, err
		}
		return []fileInfo{{root, st.Size()}}, nil, nil
	}
	var files []fileInfo
	var skipped []skippedFile
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != root && !s.opts.Hidden && len(name) > 0 && name[0] == '.' {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != root && !s.opts.Recursive {
				return filepath.SkipDir
			}
			return nil
		}
		if s.opts.Glob != "" {
			if ok, _ := path.Match(s.opts.Glob, name); !ok {
				return nil
			}
		}
		info, err := os.Stat(p) // follows a link to a file
		if err != nil {
			return err
		}
		switch m := info.Mode(); {
		case m.IsDir():
			return nil // a link to a directory
		case !m.IsRegular():
			skipped = append(skipped, skippedFile{p, inputfile.SpecialKind(m)})
			return nil
		}
		files = append(files, fileInfo{p, info.Size()})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", root, err)
	}
	if len(files) == 0 {
		what := "no files"
		if s.opts.Glob != "" {
			what = fmt.Sprintf("no file matching %q", s.opts.Glob)
		}
		hint := ""
		if !s.opts.Recursive {
			hint = " (subdirectories are not read unless recursive: true)"
		}
		return nil, nil, fmt.Errorf("read %s: %s%s", root, what, hint)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	return files, skipped, nil
}
