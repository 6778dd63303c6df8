package plugins

import (
	"errors"
	"fmt"
	"strings"
)

// Errors that callers may test for with errors.Is.
var (
	// ErrTooManyRestarts is wrapped by the error Classify returns when the
	// plugin failed more often than max_restarts allows.
	ErrTooManyRestarts = errors.New("too many restarts")
	// ErrPoisonRecord is wrapped by a Result.Err for a record that crashed
	// (or hung) the plugin each time it was sent on its own.
	ErrPoisonRecord = errors.New("the record crashes the plugin")
	// ErrNotAccepted is wrapped by a Result.Err for a record of a kind the
	// plugin does not accept (see Description.Accepts); it is not sent.
	ErrNotAccepted = errors.New("record kind not accepted by the plugin")
	// ErrHandshake is wrapped by Start's error when the plugin process did
	// not complete go-plugin's handshake: it printed something else on
	// stdout, exited, or took longer than start_timeout.
	ErrHandshake = errors.New("handshake failed")
	// ErrProtocolVersion is wrapped by Start's error when the plugin speaks
	// another version of the protocol: it must be rebuilt.
	ErrProtocolVersion = errors.New("protocol version mismatch")
	// ErrChecksum is wrapped by Start's error when the executable does not
	// have the SHA-256 pinned by plugin.sha256.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrInit is wrapped by Start's error when the plugin's Init failed; the
	// plugin's own message follows it.
	ErrInit = errors.New("init failed")
	// ErrContract is wrapped by the error Classify returns when the plugin
	// broke the protocol's contract: it answered a batch with another
	// number of results than records, or an sdk reported a bug in the
	// plugin's code (an error beginning with "plugin bug: ", as
	// sdktest.Conformance and sluice_plugin.check look for). No record is
	// to blame, so on_error does not apply: the run fails.
	ErrContract = errors.New("the plugin broke its contract")
	// ErrClosed is returned by Classify after Close.
	ErrClosed = errors.New("plugin pool is closed")
)

// formatTail formats the last lines a plugin wrote for an error message, or
// "" when there are none.
func formatTail(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nlast lines the plugin wrote on stderr:")
	for _, l := range lines {
		b.WriteString("\n    ")
		b.WriteString(l)
	}
	return b.String()
}

// keyLine is the line of a plugin's last output that best says why it
// failed: the crash headline when there is one (a Go panic's message comes
// before its stack trace), else the last non-empty line (a Python
// traceback ends with its exception).
func keyLine(lines []string) string {
	if len(lines) > 1 && lines[1] == "..." {
		return lines[0]
	}
	for _, l := range lines {
		if isHeadline(l) {
			return l
		}
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(lines[i]); s != "" {
			return s
		}
	}
	return ""
}
