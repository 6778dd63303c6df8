package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// renderDot runs Graphviz's dot to turn DOT source into an SVG or PNG
// picture. dot must be on PATH; the error says how to get it when it is
// not.
func renderDot(ctx context.Context, src, format string) ([]byte, error) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		return nil, fmt.Errorf("--format %s needs Graphviz's dot on PATH, which was not found (install Graphviz: apt-get install graphviz, brew install graphviz; or use --format dot and render it elsewhere): %w", format, err)
	}
	cmd := exec.CommandContext(ctx, dot, "-T"+format)
	cmd.Stdin = strings.NewReader(src)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("graphviz %s -T%s failed: %w", dot, format, err)
		}
		return nil, fmt.Errorf("run graphviz %s: %w", dot, err)
	}
	return out.Bytes(), nil
}
