package engine_test

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	pipelinepkg "github.com/sluicehq/sluice/pipeline"
)

// TestForeignFileNotEchoed: a file that is not a pipeline or a template
// (include: /etc/shadow, issue 14) is reported by its path, with no byte
// of its content in the error, whether it parses as a YAML scalar, a
// mapping (whose keys "unknown key" errors used to quote), or a sequence.
func TestForeignFileNotEchoed(t *testing.T) {
	secrets := map[string]string{
		"shadow":  "root:$6$saltsalt$HASHHASH:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n",
		"mapping": "user: alice\npassword: hunter2\n",
		"list":    "- hunter2\n- alice\n",
	}
	for name, content := range secrets {
		fsys := fstest.MapFS{
			"etc/" + name:  {Data: []byte(content)},
			"include.yaml": {Data: []byte("include: etc/" + name + "\nstages:\n  a: {use: src}\n  b: {use: sink, from: a}\n")},
			"use.yaml":     {Data: []byte("stages:\n  a: {use: src}\n  b: {use: ./etc/" + name + ", from: a}\n")},
		}
		l := &pipelinepkg.Loader{
			Registry: newWorld().reg,
			ReadFile: func(p string) ([]byte, error) { return fsys.ReadFile(filepath.ToSlash(filepath.Clean(p))) },
		}
		for _, pipeline := range []string{"include.yaml", "use.yaml", "etc/" + name} {
			t.Run(name+"/"+pipeline, func(t *testing.T) {
				_, err := pipelinepkg.LoadFile(l, pipeline)
				if err == nil {
					t.Fatal("loaded without error")
				}
				msg := err.Error()
				if !strings.Contains(msg, filepath.Join("etc", name)+":1:1: this file does not look like a ") || !strings.Contains(msg, "(its content is not shown)") {
					t.Errorf("error does not name the file as foreign:\n%s", msg)
				}
				for _, word := range []string{"root", "HASH", "alice", "hunter2", "user", "password"} {
					if strings.Contains(msg, word) {
						t.Errorf("error echoes %q from the file:\n%s", word, msg)
					}
				}
			})
		}
	}
}
