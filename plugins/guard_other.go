//go:build !unix

package plugins

import (
	"context"
	"os/exec"
	"time"
)

// goCommand returns a command that runs the go tool in dir, killed when ctx
// is done. Outside Unix there is no guard (see guard_unix.go): the go
// command's own children are not reached.
func goCommand(ctx context.Context, remove, dir, goCmd string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// goCommandAlone is goCommand without a temporary file.
func goCommandAlone(ctx context.Context, dir, goCmd string, args ...string) *exec.Cmd {
	return goCommand(ctx, "", dir, goCmd, args...)
}

// guardedCommand returns nil: there is no guard outside Unix.
func guardedCommand(string, int, []string, string, ...string) *exec.Cmd { return nil }

// guardMemoryEnv is unused outside Unix: there is no guard to enforce
// plugin.max_memory.
const guardMemoryEnv = "SLUICE_PLUGINS_GUARD_MEMORY"
