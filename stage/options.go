package stage

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// optionError is an error about one option, located by its dotted path.
type optionError struct {
	path string
	msg  string
}

func (e *optionError) Error() string { return e.path + ": " + e.msg }

// OptionPath returns the option's dotted path, for the planner to place
// the error.
func (e *optionError) OptionPath() string { return e.path }

// OptionError returns an error about the option at path (dotted yaml keys
// from the stage's `with:`, e.g. "xml.element"). Returned from a Kind's
// build function, it is reported at that option's position in the file.
func OptionError(path, format string, args ...any) error {
	return &optionError{path: path, msg: fmt.Sprintf(format, args...)}
}

// Defaulter is implemented by option structs used as optional
// sub-mappings (pointer fields, nil when the key is absent). When the key
// is present, the decoder allocates the struct and calls SetDefaults on it
// before decoding the mapping into it, so that unset options keep their
// defaults; `sluice stages` shows those defaults too.
type Defaulter interface {
	SetDefaults()
}

// Duration is a time.Duration written in options as "500ms", "30s", "2m".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil || v < 0 {
		return fmt.Errorf("expected a duration such as \"30s\" or \"500ms\", got %q", text)
	}
	*d = Duration(v)
	return nil
}

// String formats the duration as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// ByteSize is a size in bytes written in options as 1048576, "64KiB",
// "16MiB", "1GiB" (or KB/MB/GB, taken as powers of 1024 too).
type ByteSize int64

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// String formats the size with the largest binary unit that divides it.
func (s ByteSize) String() string {
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if int64(s) >= u.n && int64(s)%u.n == 0 {
			return fmt.Sprintf("%d%s", int64(s)/u.n, u.suffix)
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// ParseByteSize parses a size such as "512", "64KiB", "16MB" or "1GiB".
func ParseByteSize(text string) (ByteSize, error) {
	s := strings.TrimSpace(text)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.n
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("expected a size such as 65536, \"64KiB\" or \"16MiB\", got %q", text)
	}
	return ByteSize(v * mult), nil
}
