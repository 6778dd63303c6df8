package sluice_test

import (
	"os/exec"
	"strings"
	"testing"
)

// engineDep reports why a package a plugin links must not be there: it is
// part of the engine (the main module outside sdk/) or one of the host's
// libraries. It returns "" for a package a plugin may link.
func engineDep(pkg string) string {
	const main, sdk = "github.com/sluicehq/sluice", "github.com/sluicehq/sluice/sdk"
	switch {
	case pkg == sdk || strings.HasPrefix(pkg, sdk+"/"):
		return ""
	case pkg == main || strings.HasPrefix(pkg, main+"/"):
		return "an engine package"
	case strings.HasPrefix(pkg, "gopkg.in/yaml"):
		return "the engine's YAML library"
	case strings.HasPrefix(pkg, "github.com/sourcegraph/conc"):
		return "the engine's concurrency library"
	case strings.HasPrefix(pkg, "github.com/spf13/"), strings.HasPrefix(pkg, "github.com/expr-lang/"),
		strings.HasPrefix(pkg, "github.com/prometheus/"), strings.HasPrefix(pkg, "github.com/vbauerster/"):
		return "a library of the engine or CLI"
	}
	return ""
}

// goListDeps runs go list -deps in dir and returns the import paths.
func goListDeps(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.Fields(string(out))
}

// checkNoEngine fails the test for each package in deps that a plugin must
// not link.
func checkNoEngine(t *testing.T, what string, deps []string) {
	t.Helper()
	for _, d := range deps {
		if why := engineDep(d); why != "" {
			t.Errorf("%s links %s, %s: the sdk module must not depend on the engine (move shared code into the sdk module)", what, d, why)
		}
	}
}

// TestSDKImportsNoEngine checks the import direction between the two
// modules: the engine depends on the sdk module, never the reverse. A plugin
// that imports any of the sdk's packages (sdktest included) links no engine
// package, no YAML and no conc.
func TestSDKImportsNoEngine(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	deps := goListDeps(t, "sdk", "./...")
	if len(deps) < 10 {
		t.Fatalf("go list -deps ./... in sdk listed only %v", deps)
	}
	checkNoEngine(t, "the sdk module", deps)
}

// TestEngineDepIsStrict checks the filter the import tests rely on.
func TestEngineDepIsStrict(t *testing.T) {
	for pkg, bad := range map[string]bool{
		"github.com/sluicehq/sluice/stage":             true,
		"github.com/sluicehq/sluice/engine":            true,
		"github.com/sluicehq/sluice":                   true,
		"github.com/sluicehq/sluice/internal/yamlnode": true,
		"github.com/sluicehq/sluice/sdkx":              true,
		"gopkg.in/yaml.v3":                             true,
		"github.com/sourcegraph/conc/pool":             true,
		"github.com/sluicehq/sluice/sdk":               false,
		"github.com/sluicehq/sluice/sdk/xmlview":       false,
		"google.golang.org/grpc":                       false,
		"github.com/hashicorp/go-plugin":               false,
	} {
		if got := engineDep(pkg) != ""; got != bad {
			t.Errorf("engineDep(%q) flags it: %v, want %v", pkg, got, bad)
		}
	}
}
