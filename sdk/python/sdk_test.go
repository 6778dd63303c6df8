// Package python holds the tests of the Python sdk (sluice_plugin), run by
// go test so that CI runs them: the generated protocol code is current, the
// handshake constants match the Go side, and the conformance checker
// passes the example and catches a broken classifier.
package python

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/sdk/protocol"
)

var (
	pythonOnce sync.Once
	pythonPath string
)

// python returns an interpreter that has grpcio and protobuf. Outside CI
// the test is skipped when there is none; under CI it fails.
func python(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		for _, name := range []string{os.Getenv("SLUICE_PYTHON"), "/usr/bin/python3", "python3"} {
			if name == "" {
				continue
			}
			if path, err := exec.LookPath(name); err == nil && exec.Command(path, "-c", "import grpc, google.protobuf").Run() == nil {
				pythonPath = path
				return
			}
		}
	})
	if pythonPath == "" {
		const msg = "no python3 with grpcio and protobuf (apt-get install python3-grpcio python3-protobuf for Debian's /usr/bin/python3, or set SLUICE_PYTHON to an interpreter that has them)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + "; CI must install them so that the Python sdk is tested")
		}
		t.Skip(msg)
	}
	return pythonPath
}

// run runs python with sluice_plugin importable and returns its exit code
// and combined output.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(python(t), args...)
	cmd.Env = append(os.Environ(), "PYTHONPATH=.")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

var generated = []string{
	"classifier_pb2.py", "classifier_pb2_grpc.py",
	"health_pb2.py", "health_pb2_grpc.py",
	"grpc_controller_pb2.py", "grpc_controller_pb2_grpc.py",
}

// TestGeneratedCodeIsFresh regenerates sluice_plugin/_proto into a temporary
// directory and compares it with the committed files. Outside CI it skips
// when the generators are missing; under CI that is a failure.
func TestGeneratedCodeIsFresh(t *testing.T) {
	py := python(t)
	var missing []string
	if out, err := exec.Command("protoc", "--version").Output(); err != nil {
		missing = append(missing, "protoc (apt-get install protobuf-compiler)")
	} else if !strings.HasPrefix(string(out), "libprotoc 3.21.") {
		// Other protoc releases write other (and for 3.21's runtime,
		// incompatible) Python: the code is generated with Debian 12's.
		missing = append(missing, fmt.Sprintf("protoc 3.21 (found %s)", strings.TrimSpace(string(out))))
	}
	if exec.Command(py, "-c", "import grpc_tools.protoc").Run() != nil {
		missing = append(missing, "grpc_tools (apt-get install python3-grpc-tools)")
	}
	if len(missing) > 0 {
		msg := "cannot regenerate the Python protocol code: missing " + strings.Join(missing, ", ")
		if os.Getenv("CI") == "" {
			t.Skip(msg + "; this check runs in CI")
		}
		t.Fatal(msg + ": CI must install them so that stale generated code is caught")
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "generate.sh")
	cmd.Env = append(os.Environ(), "OUT="+out, "PYTHON="+py)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate.sh: %v\n%s", err, b)
	}
	for _, name := range generated {
		want, err := os.ReadFile(filepath.Join(out, "sluice_plugin", "_proto", name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("sluice_plugin", "_proto", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("sluice_plugin/_proto/%s is stale: a .proto changed but the Python code was not regenerated; run `sh sdk/python/generate.sh` and commit the result", name)
		}
	}
}

// TestHandshakeMatchesGo: the Python sdk speaks the handshake, protocol
// version and message limit of the Go side.
func TestHandshakeMatchesGo(t *testing.T) {
	code, out := run(t, "-c", `import sluice_plugin as s, sluice_plugin._serve as v
print(s.MAGIC_COOKIE_KEY, s.MAGIC_COOKIE_VALUE, s.PROTOCOL_VERSION, v.MAX_MESSAGE_BYTES)`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	h := protocol.Handshake()
	want := fmt.Sprintf("%s %s %d %d", h.MagicCookieKey, h.MagicCookieValue, protocol.ProtocolVersion, protocol.MaxMessageBytes)
	if got := strings.TrimSpace(out); got != want {
		t.Errorf("python: %q, go: %q", got, want)
	}
}

// TestStartedByHand: without the host's cookie, serve explains and exits 1.
func TestStartedByHand(t *testing.T) {
	code, out := run(t, "../../examples/py-classifier/plugin.py")
	if code != 1 || !strings.Contains(out, "sluice classifier plugin") || !strings.Contains(out, "sluice_plugin check") {
		t.Errorf("exit %d, output %q; want exit 1 and an explanation", code, out)
	}
}

// TestCheckExample runs the conformance checker on the example plugin.
func TestCheckExample(t *testing.T) {
	code, out := run(t, "-m", "sluice_plugin", "check", "../../examples/py-classifier/plugin.py",
		"--config", `{"spec": "../../examples/py-classifier/spec.json"}`)
	t.Log(out)
	if code != 0 || strings.Contains(out, "FAIL") {
		t.Fatalf("exit %d", code)
	}
	for _, rule := range []string{"describe", "init", "one result per record", "empty batch", "deterministic", "batching does not matter", "in flight", "shutdown"} {
		if !strings.Contains(out, "ok   "+rule+"\n") {
			t.Errorf("rule %q was not checked", rule)
		}
	}
}

// TestCheckCatchesBrokenClassifiers: the checker fails classifiers that
// break the contract, naming the rule.
func TestCheckCatchesBrokenClassifiers(t *testing.T) {
	tests := []struct {
		name, body, rule string
	}{
		{"drops a record", `
    def classify(self, batch):
        return ["x"] * (len(batch) - 1) if batch else []`, "FAIL one result per record: plugin bug: classify returned"},
		{"depends on batching", `
    def classify(self, batch):
        return [str(len(batch))] * len(batch)`, "FAIL batching does not matter"},
		{"not deterministic", `
    n = 0
    def classify_record(self, record):
        self.n += 1
        return str(self.n)`, "FAIL deterministic"},
		{"init fails", `
    def init(self, config):
        raise KeyError("spec")
    def classify_record(self, record):
        return "x"`, "FAIL init: init: KeyError: 'spec' (plugin.py:"},
		{"wrong answer type", `
    def classify_record(self, record):
        return 42`, "FAIL one result per record: plugin bug: classify answered record 1 with a int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := filepath.Join(t.TempDir(), "plugin.py")
			src := "import sluice_plugin\n\nclass Broken(sluice_plugin.Classifier):\n    name = \"broken\"" + tt.body + "\n"
			if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out := run(t, "-m", "sluice_plugin", "check", script)
			if code != 1 || !strings.Contains(out, tt.rule) {
				t.Errorf("exit %d, want 1 and %q in:\n%s", code, tt.rule, out)
			}
		})
	}
}

// TestSharedMemory drives the Python servicer with requests whose records
// are in shared memory, as sluice sends them on Linux: it reads them from
// the mapping, whichever slot they are in, and answers a request that
// points outside the mapping, or at bytes that are not a request, with an
// error for the batch.
func TestSharedMemory(t *testing.T) {
	script := `
import mmap, os, sys, tempfile
from sluice_plugin import Classifier
from sluice_plugin._serve import _ClassifierService
from sluice_plugin._proto import classifier_pb2 as pb

class Upper(Classifier):
    def classify(self, batch):
        return [r.text.upper() for r in batch]

body = pb.ClassifyRequest(records=[pb.Record(kind=pb.KIND_LINE, data=b"alpha"), pb.Record(kind=pb.KIND_LINE, data=b"beta")], files=["in.txt"]).SerializeToString()
fd, path = tempfile.mkstemp()
os.unlink(path)
os.ftruncate(fd, 8192)
os.pwrite(fd, body, 4096)
mem = mmap.mmap(fd, 8192, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
svc = _ClassifierService(Upper(), shared=mem)
print("describe", svc.Describe(pb.DescribeRequest(), None).shared_memory)
for seq, off, n in [(1, 4096, len(body)), (2, 8000, 500), (3, 0, 0)]:
    resp = svc.answer(pb.ClassifyRequest(seq=seq, shm_offset=off, shm_length=n))
    print(seq, resp.seq, [r.category for r in resp.results], repr(resp.error))
resp = svc.answer(pb.ClassifyRequest(seq=5, shm_offset=0, shm_length=100))  # zeros
print("not protobuf", resp.seq == 5 and not resp.results and resp.error.startswith("sluice_plugin: in shared memory: decoding ClassifyRequest"))
bare = _ClassifierService(Upper())
print("describe", bare.Describe(pb.DescribeRequest(), None).shared_memory)
resp = bare.answer(pb.ClassifyRequest(seq=4, shm_offset=0, shm_length=10))
print(4, resp.seq, [r.category for r in resp.results], repr(resp.error))
`
	code, out := run(t, "-c", script)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	want := `describe True
1 1 ['ALPHA', 'BETA'] ''
2 2 [] "sluice_plugin: the request's records are at bytes 8000 to 8500 of shared memory, which has 8192"
3 3 [] ''
not protobuf True
describe False
4 4 [] "sluice_plugin: the request's records are in shared memory, but the plugin has none mapped"
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}
