// Command testplugin is the plugin the plugins package's tests run. Its
// behaviour before the handshake is chosen with the TESTPLUGIN_MODE
// environment variable; after it, with its Init config and its records:
//
//   - data containing POISON crashes the process (a panic);
//   - data containing HANG blocks forever, ignoring its context;
//   - TESTPLUGIN_CONCURRENCY sets sdk.Plugin.Concurrency (batches answered
//     at once);
//   - data containing REJECT gets a per-record error;
//   - any other record gets the category prefix+UPPER(data) and labels
//     describing what arrived (kind, position, CSV fields).
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/protocol"
)

type config struct {
	Prefix      string `json:"prefix" doc:"Put before each category."`
	FailInit    string `json:"fail_init"`
	CrashInit   bool   `json:"crash_init"`
	CrashAlways bool   `json:"crash_always"`
	Sleep       string `json:"sleep"` // per batch
	BatchError  string `json:"batch_error"`
	Trivial     bool   `json:"trivial"` // one constant category, no labels: for benchmarks
	Chatty      bool   `json:"chatty"`  // Init writes to stdout, through os.Stdout and to fd 1
	Spawn       bool   `json:"spawn"`   // Init starts sleep 777 in its group and sleep 778 in a session of its own
	Short       bool   `json:"short"`   // Classify returns one result fewer than records
	Leak        int    `json:"leak"`    // Classify keeps this many more MiB each batch
}

type classifier struct {
	cfg    config
	sleep  time.Duration
	leaked [][]byte
}

func (c *classifier) Init(_ context.Context, req *sdk.InitRequest) (*sdk.InitResponse, error) {
	if err := req.DecodeConfig(&c.cfg); err != nil {
		return nil, err
	}
	if c.cfg.FailInit != "" {
		return nil, errors.New(c.cfg.FailInit)
	}
	if c.cfg.Chatty {
		fmt.Println("testplugin: hello through os.Stdout")
		syscall.Write(1, []byte("testplugin: hello through file descriptor 1\n"))
		log.Printf("testplugin: hello through the log package")
	}
	if c.cfg.Spawn {
		for i, setsid := range []bool{false, true} {
			cmd := exec.Command("sleep", strconv.Itoa(777+i))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
			if err := cmd.Start(); err != nil {
				return nil, err
			}
		}
	}
	if c.cfg.CrashInit {
		panic("crashing in Init as configured")
	}
	if c.cfg.Sleep != "" {
		d, err := time.ParseDuration(c.cfg.Sleep)
		if err != nil {
			return nil, fmt.Errorf("sleep: %w", err)
		}
		c.sleep = d
	}
	fmt.Fprintf(os.Stderr, "testplugin: instance %d of %d ready for stage %s\n", req.Instance, req.Instances, req.Stage)
	return nil, nil
}

func (c *classifier) Classify(ctx context.Context, req *sdk.ClassifyRequest) (*sdk.ClassifyResponse, error) {
	if c.sleep > 0 {
		time.Sleep(c.sleep)
	}
	if c.cfg.CrashAlways {
		panic("crashing on every batch as configured")
	}
	if c.cfg.Leak > 0 {
		b := make([]byte, c.cfg.Leak<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // resident, not just reserved
		}
		c.leaked = append(c.leaked, b)
	}
	if c.cfg.BatchError != "" {
		return nil, errors.New(c.cfg.BatchError)
	}
	resp := &sdk.ClassifyResponse{Results: make([]sdk.Result, len(req.Records))}
	if c.cfg.Short {
		resp.Results = resp.Results[:len(resp.Results)-1]
		return resp, nil
	}
	if c.cfg.Trivial {
		for i := range resp.Results {
			resp.Results[i].Category = "t"
		}
		return resp, nil
	}
	for i := range req.Records {
		r := &req.Records[i]
		switch {
		case bytes.Contains(r.Data, []byte("POISON")):
			fmt.Fprintf(os.Stderr, "testplugin: about to crash on record %d\n", r.Source.Ordinal)
			panic("poison record: " + string(r.Data))
		case bytes.Contains(r.Data, []byte("HANG")):
			select {}
		case bytes.Contains(r.Data, []byte("REJECT")):
			resp.Results[i].Err = fmt.Errorf("cannot classify %q", r.Data)
		default:
			labels := map[string]string{
				"kind":    r.Kind.String(),
				"file":    r.Source.File,
				"offset":  strconv.FormatInt(r.Source.Offset, 10),
				"line":    strconv.FormatInt(r.Source.Line, 10),
				"ordinal": strconv.FormatInt(r.Source.Ordinal, 10),
				"prev":    r.Category,
			}
			if r.Header != nil {
				for _, name := range r.Header.Names {
					v, _ := r.Field(name)
					labels["field."+name] = v
				}
			}
			for k, v := range r.Labels {
				labels["label."+k] = v
			}
			resp.Results[i] = sdk.Result{Category: c.cfg.Prefix + strings.ToUpper(string(r.Data)), Labels: labels}
		}
	}
	return resp, nil
}

func (c *classifier) Shutdown(context.Context) error {
	fmt.Fprintln(os.Stderr, "testplugin: shutdown called")
	return nil
}

func main() {
	switch os.Getenv("TESTPLUGIN_MODE") {
	case "garbage":
		fmt.Println("hello from a chatty plugin")
	case "exit":
		fmt.Fprintln(os.Stderr, "testplugin: cannot start: missing license file")
		os.Exit(3)
	case "slow-start":
		time.Sleep(time.Minute)
	case "no-shared-memory":
		// As a plugin built with an sdk older than shared memory: it never
		// looks at the descriptor the host passes.
		os.Unsetenv(protocol.SharedMemoryEnv)
	case "wrong-version":
		hs := protocol.Handshake()
		hs.ProtocolVersion = protocol.ProtocolVersion + 41
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig: hs,
			Plugins:         plugin.PluginSet{protocol.PluginName: nothing{}},
			GRPCServer:      plugin.DefaultGRPCServer,
		})
		return
	}
	var accepts []sdk.Kind
	if os.Getenv("TESTPLUGIN_ACCEPTS") == "csv" {
		accepts = []sdk.Kind{sdk.CSV}
	}
	concurrency, _ := strconv.Atoi(os.Getenv("TESTPLUGIN_CONCURRENCY"))
	var schema any = &config{Sleep: "0s"} // its config schema, with a default
	if os.Getenv("TESTPLUGIN_NO_SCHEMA") != "" {
		schema = nil // as a plugin that does not describe its config
	}
	sdk.Serve(sdk.Plugin{
		Name:        "testplugin",
		Version:     "0.0.1",
		Accepts:     accepts,
		Classifier:  &classifier{},
		Concurrency: concurrency,
		Config:      schema,
	})
}

// nothing is a gRPC plugin that serves nothing, for the wrong-version mode.
type nothing struct{ plugin.NetRPCUnsupportedPlugin }

func (nothing) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error { return nil }
func (nothing) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("not a client")
}
