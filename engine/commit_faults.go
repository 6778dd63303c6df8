//go:build sluicefaults

package engine

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// faultsFromEnv reads SLUICE_TEST_COMMIT_FAULT: "N:fail" makes the Nth
// step of each commit fail, "N:kill" makes the process
// SIGKILL itself just before it. Only binaries built with the sluicefaults
// tag read it; the tests that inject faults build one.
func faultsFromEnv() *faults {
	v := os.Getenv("SLUICE_TEST_COMMIT_FAULT")
	if v == "" {
		return nil
	}
	n, action, _ := strings.Cut(v, ":")
	f := &faults{action: action}
	if _, err := fmt.Sscan(n, &f.n); err != nil || !slices.Contains([]string{"fail", "kill", "stall", "trace"}, action) {
		panic(fmt.Sprintf("SLUICE_TEST_COMMIT_FAULT: want N:fail or N:kill, got %q", v))
	}
	return f
}
