package plugins

import (
	"runtime"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/stage"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want []string // substrings of the error; none for a valid config
	}{
		{"defaults with a command", func(c *Config) {}, nil},
		{"source instead", func(c *Config) { c.Command = nil; c.Source = "./plugin" }, nil},
		{"neither", func(c *Config) { c.Command = nil }, []string{"plugin.command: give the plugin to run"}},
		{"both", func(c *Config) { c.Source = "./plugin" }, []string{"plugin.source: give command or source, not both"}},
		{"empty executable", func(c *Config) { c.Command = []string{" "} }, []string{"plugin.command[0]"}},
		{"negative instances", func(c *Config) { c.Instances = -2 }, []string{"plugin.instances"}},
		{"batch size", func(c *Config) { c.BatchSize = 0 }, []string{"plugin.batch_size"}},
		{"batch bytes", func(c *Config) { c.BatchBytes = 0 }, []string{"plugin.batch_bytes"}},
		{"in flight", func(c *Config) { c.InFlight = 65 }, []string{"plugin.in_flight"}},
		{"timeout", func(c *Config) { c.Timeout = 0 }, []string{"plugin.timeout"}},
		{"start timeout", func(c *Config) { c.StartTimeout = 0 }, []string{"plugin.start_timeout"}},
		{"max restarts", func(c *Config) { c.MaxRestarts = -1 }, []string{"plugin.max_restarts"}},
		{"max memory too small", func(c *Config) { c.MaxMemory = 1 << 20 }, []string{"plugin.max_memory", "16MiB"}},
		{"max memory too large", func(c *Config) { c.MaxMemory = 2 << 40 }, []string{"plugin.max_memory", "1024GiB"}},
		{"sha256", func(c *Config) { c.SHA256 = "abc" }, []string{"plugin.sha256", "64 hexadecimal digits"}},
		{"env", func(c *Config) { c.Env = map[string]string{"A=B": "x"} }, []string{"plugin.env"}},
		{"config not JSON", func(c *Config) { c.Config = map[string]any{"m": map[any]any{1: "x"}} }, []string{"plugin.config", "JSON"}},
		{"every problem at once", func(c *Config) { c.BatchSize = -1; c.Timeout = 0; c.SHA256 = "x" }, []string{"plugin.batch_size", "plugin.timeout", "plugin.sha256"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Command = []string{"./plugin"}
			tt.edit(cfg)
			err := cfg.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			if msg := contains(err.Error(), tt.want...); msg != "" {
				t.Errorf("error %q: %s", err, msg)
			}
		})
	}
}

func TestInstancesYAML(t *testing.T) {
	tests := []struct {
		in      string
		want    Instances
		wantErr bool
	}{
		{"instances: auto", Auto, false},
		{"instances: 3", 3, false},
		{"instances: 0", 0, true},
		{"instances: -1", 0, true},
		{"instances: many", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v struct {
				Instances Instances `yaml:"instances"`
			}
			err := yaml.Unmarshal([]byte(tt.in), &v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "expected auto or a number") {
				t.Errorf("error %q does not say what is expected", err)
			}
			if err == nil && v.Instances != tt.want {
				t.Errorf("got %v, want %v", v.Instances, tt.want)
			}
		})
	}
	if got := Auto.Count(); got != runtime.GOMAXPROCS(0) {
		t.Errorf("Auto.Count() = %d, want GOMAXPROCS %d", got, runtime.GOMAXPROCS(0))
	}
	if got := Instances(3).String(); got != "3" {
		t.Errorf("String() = %q", got)
	}
	if got := Auto.String(); got != "auto" {
		t.Errorf("Auto.String() = %q", got)
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.BatchSize != 1024 || cfg.BatchBytes != 4<<20 || cfg.InFlight != 2 || cfg.Timeout != stage.Duration(DefaultTimeout) || cfg.MaxRestarts != 5 || cfg.Instances != Auto {
		t.Errorf("DefaultConfig() = %+v", cfg)
	}
}
