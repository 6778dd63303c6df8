package plugins

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/stage"
)

// Config is the `plugin:` mapping of a classify stage: which plugin to run,
// how many processes, and how records are batched to them. Decode it with
// core's option decoder into a value from DefaultConfig, then call Validate.
type Config struct {
	Command      []string          `yaml:"command" doc:"The plugin's argv: an executable and its arguments, run without a shell; a relative executable path is resolved against the working directory, a bare name through PATH."`
	Source       string            `yaml:"source" doc:"Instead of command: a Go main package directory, built with go build (cached by content hash under the user cache directory) and started."`
	Config       map[string]any    `yaml:"config" doc:"Passed to the plugin's Init as a JSON object. sluice validate checks it against the config the plugin describes (sluice plugin describe prints it), with the key's position and a did you mean."`
	Instances    Instances         `yaml:"instances" max:"1024" doc:"Plugin processes to run, each initialised once: a number, or auto for one per core (default auto)."`
	BatchSize    int               `yaml:"batch_size" max:"1048576" doc:"Most records sent in one request."`
	BatchBytes   stage.ByteSize    `yaml:"batch_bytes" max:"256MiB" doc:"Most record bytes sent in one request (a larger single record is sent alone)."`
	InFlight     int               `yaml:"in_flight" max:"64" doc:"Batches sent to one instance before its first answer comes back."`
	Timeout      stage.Duration    `yaml:"timeout" doc:"Longest an instance may go without answering while a batch waits; past it the instance is replaced and the batch retried."`
	StartTimeout stage.Duration    `yaml:"start_timeout" doc:"Longest starting one instance may take: process start, handshake, Describe and Init."`
	MaxRestarts  int               `yaml:"max_restarts" max:"10000" doc:"Restarts allowed per run before it fails (restarts spent isolating a poison record are not counted)."`
	SHA256       string            `yaml:"sha256" doc:"Optional hex SHA-256 of the executable (of the script, for a Python plugin run as [python3, script.py]); a mismatch refuses to start it."`
	Env          map[string]string `yaml:"env" doc:"Environment variables added to the plugin's environment."`
	SharedMemory bool              `yaml:"shared_memory" doc:"Send the records of each batch through memory shared with the plugin process rather than through its socket (Linux, plugins built with the sluice sdk); requests and answers still go over the socket. On by default; it nearly halves what sending a 1 KB record to a plugin and back costs (bench/README.md)."`
	MaxMemory    stage.ByteSize    `yaml:"max_memory" max:"1024GiB" doc:"Most memory (resident set) one instance may use, the processes it starts included (for example 2GiB; 0, the default, for no limit). Over it the instance is killed, which is handled as a crash; checked every 100 ms (Linux)."`
	TLS          *bool             `yaml:"tls" doc:"Go plugins only: mutual TLS on the plugin's connection (go-plugin's AutoMTLS), on by default. The connection is a Unix socket in a directory only this user can open either way; TLS adds authentication against other processes of the same user. With shared_memory the records do not go through the connection, so false saves little (bench/README.md)."`

	// Dir is the directory that a relative executable path in Command, a
	// relative Source, and the plugin's working directory are taken from.
	// Empty means the current directory, which is what the classify stage
	// uses, like every relative path in a pipeline. It is not an option.
	Dir string `yaml:"-"`

	// describeOnly stops an instance's start after Describe (see Describe).
	describeOnly bool
}

// The defaults set by DefaultConfig.
const (
	DefaultBatchSize    = 1024
	DefaultBatchBytes   = 4 << 20
	DefaultInFlight     = 2
	DefaultTimeout      = 30 * time.Second
	DefaultStartTimeout = time.Minute
	DefaultMaxRestarts  = 5
)

// Limits checked by Validate.
const (
	maxBatchSize = 1 << 20
	// Bounds on max_memory: below 16 MiB no plugin starts; above 1 TiB is
	// surely a typo.
	minMaxMemory stage.ByteSize = 16 << 20
	maxMaxMemory stage.ByteSize = 1 << 40
	maxInFlight                 = 64
)

// SetDefaults implements stage.Defaulter: a `plugin:` mapping starts from
// DefaultConfig.
func (c *Config) SetDefaults() { *c = *DefaultConfig() }

var _ stage.Defaulter = (*Config)(nil)

// DefaultConfig returns a Config with every default set; Command and Source
// are empty.
func DefaultConfig() *Config {
	return &Config{
		Instances:    Auto,
		BatchSize:    DefaultBatchSize,
		BatchBytes:   DefaultBatchBytes,
		InFlight:     DefaultInFlight,
		Timeout:      stage.Duration(DefaultTimeout),
		StartTimeout: stage.Duration(DefaultStartTimeout),
		MaxRestarts:  DefaultMaxRestarts,
		SharedMemory: true,
	}
}

// Validate checks the options without touching the outside world (it does
// not look for the executable). It reports every problem at once, each made
// with stage.OptionError at its path under "plugin.", joined with
// errors.Join; it returns nil when there is none.
func (c *Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, stage.OptionError("plugin."+path, format, args...))
	}
	switch {
	case len(c.Command) == 0 && c.Source == "":
		bad("command", "give the plugin to run: command (an argv list) or source (a Go package directory)")
	case len(c.Command) > 0 && c.Source != "":
		bad("source", "give command or source, not both")
	case len(c.Command) > 0 && strings.TrimSpace(c.Command[0]) == "":
		bad("command[0]", "the executable is empty")
	}
	if c.Instances < 0 {
		bad("instances", "must be auto or a number of 1 or more, got %d", int(c.Instances))
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatchSize {
		bad("batch_size", "must be between 1 and %d, got %d", maxBatchSize, c.BatchSize)
	}
	if c.BatchBytes < 1 {
		bad("batch_bytes", "must be at least 1 byte, got %d", int64(c.BatchBytes))
	}
	if c.InFlight < 1 || c.InFlight > maxInFlight {
		bad("in_flight", "must be between 1 and %d, got %d", maxInFlight, c.InFlight)
	}
	if c.Timeout <= 0 {
		bad("timeout", "must be more than 0, got %s", c.Timeout)
	}
	if c.StartTimeout <= 0 {
		bad("start_timeout", "must be more than 0, got %s", c.StartTimeout)
	}
	if c.MaxMemory != 0 && (c.MaxMemory < minMaxMemory || c.MaxMemory > maxMaxMemory) {
		bad("max_memory", "must be 0 (no limit) or between %s and %s, got %s", minMaxMemory, maxMaxMemory, c.MaxMemory)
	}
	if c.MaxRestarts < 0 {
		bad("max_restarts", "must be 0 or more, got %d", c.MaxRestarts)
	}
	if c.SHA256 != "" {
		if b, err := hex.DecodeString(c.SHA256); err != nil || len(b) != 32 {
			bad("sha256", "must be 64 hexadecimal digits (as printed by sha256sum), got %q", c.SHA256)
		}
	}
	for k := range c.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			bad("env", "invalid variable name %q", k)
		}
	}
	if c.Config != nil {
		if _, err := json.Marshal(c.Config); err != nil {
			bad("config", "cannot be passed to the plugin as JSON: %v (use string keys in nested mappings)", err)
		}
	}
	return errors.Join(errs...)
}

// Instances is a number of plugin processes, written in options as a
// positive number or "auto". Auto (the zero value) means one per core.
type Instances int

// Auto is the Instances value written "auto": one instance per core.
const Auto Instances = 0

// UnmarshalYAML implements yaml.Unmarshaler.
func (n *Instances) UnmarshalYAML(node *yaml.Node) error {
	if node.Value == "auto" {
		*n = Auto
		return nil
	}
	v, err := strconv.Atoi(node.Value)
	if err != nil || v < 1 {
		return fmt.Errorf("expected auto or a number of 1 or more, got %q", node.Value)
	}
	*n = Instances(v)
	return nil
}

// String returns "auto" or the number.
func (n Instances) String() string {
	if n == Auto {
		return "auto"
	}
	return strconv.Itoa(int(n))
}

// Count resolves Auto to the number of usable cores (GOMAXPROCS).
func (n Instances) Count() int {
	if n == Auto {
		return runtime.GOMAXPROCS(0)
	}
	return int(n)
}
