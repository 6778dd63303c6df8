package sdktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sluicehq/sluice/sdk"
	"github.com/sluicehq/sluice/sdk/protocol"
)

// Client calls a classifier served in process by Start or Serve, over the
// same protocol and with the same encoding as sluice itself. It is safe for
// concurrent use.
type Client struct {
	rpc  *protocol.Client
	conn *grpc.ClientConn
	srv  *grpc.Server
}

// Serve is Start for tests: it fails the test if p is invalid, and closes
// the client and its server when the test ends.
func Serve(t testing.TB, p sdk.Plugin) *Client {
	t.Helper()
	c, err := Start(p)
	if err != nil {
		t.Fatalf("sdktest.Serve: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Start serves p in this process over real gRPC on a loopback TCP
// connection, as sdk.Serve does in a plugin process (without the process and
// its handshake), and returns a client for it. Close stops both.
func Start(p sdk.Plugin) (*Client, error) {
	srv, err := sdk.NewGRPCServer(p)
	if err != nil {
		return nil, fmt.Errorf("sdktest: %w", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sdktest: %w", err)
	}
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(protocol.MaxMessageBytes), grpc.MaxCallSendMsgSize(protocol.MaxMessageBytes)),
	)
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("sdktest: %w", err)
	}
	return &Client{rpc: protocol.NewClient(conn), conn: conn, srv: srv}, nil
}

// Close closes the connection and stops the server.
func (c *Client) Close() error {
	err := c.conn.Close()
	c.srv.Stop()
	return err
}

// Description is what a plugin says about itself.
type Description struct {
	Name            string
	Version         string
	Accepts         []sdk.Kind // every kind when the plugin did not restrict them
	ProtocolVersion int
	ConfigSchema    string // the JSON Schema of its config (sdk.Plugin.Config), or ""
}

// Describe calls the plugin's Describe.
func (c *Client) Describe(ctx context.Context) (*Description, error) {
	d, err := c.rpc.Describe(ctx)
	if err != nil {
		return nil, err
	}
	out := &Description{Name: d.Name, Version: d.Version, ProtocolVersion: d.ProtocolVersion, ConfigSchema: d.ConfigSchema}
	for _, k := range []sdk.Kind{sdk.XML, sdk.CSV, sdk.Line, sdk.JSON} {
		if len(d.Accepts) == 0 || slices.Contains(d.Accepts, protocol.Kind(k)) {
			out.Accepts = append(out.Accepts, k)
		}
	}
	return out, nil
}

// Init calls the plugin's Init with config encoded as JSON, as sluice
// encodes a stage's `plugin.config` (nil sends {}). An error the plugin
// returned is an *InitError carrying its message.
func (c *Client) Init(ctx context.Context, config any) error {
	var b []byte
	if config != nil {
		var err error
		if b, err = json.Marshal(config); err != nil {
			return fmt.Errorf("sdktest: encoding the config: %w", err)
		}
	}
	err := c.rpc.Init(ctx, &protocol.InitRequest{Config: b, Stage: "sdktest", Instance: 0, Instances: 1})
	var ie *protocol.InitError
	if errors.As(err, &ie) {
		return &InitError{Message: ie.Message, Key: ie.Key}
	}
	return err
}

// InitError is the failure a plugin's Init reported, with its message as
// the user would see it, and the config key it is about ("" when the
// plugin did not say; see sdk.ConfigError).
type InitError struct {
	Message string
	Key     string
}

func (e *InitError) Error() string { return e.Message }

// Classify sends records as one batch and returns the plugin's results, one
// per record. A Result.Err holds the message the plugin gave for that record
// (or for the whole batch). The returned error is about the call itself.
func (c *Client) Classify(ctx context.Context, records []sdk.Record) ([]sdk.Result, error) {
	out, err := c.ClassifyBatches(ctx, [][]sdk.Record{records})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ClassifyBatches sends every batch on one stream before reading any answer,
// as sluice does with several batches in flight, and returns the results of
// each batch. It fails if an answer is missing, repeated or of the wrong
// length.
func (c *Client) ClassifyBatches(ctx context.Context, batches [][]sdk.Record) ([][]sdk.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.Classify(ctx)
	if err != nil {
		return nil, err
	}
	enc := newEncoder()
	for i, b := range batches {
		if err := stream.Send(protocol.Encode(uint64(i+1), enc.records(b))); err != nil {
			return nil, fmt.Errorf("sending batch %d: %w", i+1, err)
		}
	}
	out := make([][]sdk.Result, len(batches))
	for range batches {
		rep, err := stream.Recv()
		if err != nil {
			return nil, fmt.Errorf("receiving: %w", err)
		}
		seq := rep.Seq()
		if seq < 1 || seq > uint64(len(batches)) {
			return nil, fmt.Errorf("the plugin answered batch %d, which was never sent", seq)
		}
		if out[seq-1] != nil {
			return nil, fmt.Errorf("the plugin answered batch %d twice", seq)
		}
		n := len(batches[seq-1])
		res := make([]sdk.Result, n)
		switch {
		case rep.Err() != "":
			for i := range res {
				res[i].Err = errors.New(rep.Err())
			}
		case rep.Len() != n:
			return nil, fmt.Errorf("the plugin answered a batch of %d records with %d results", n, rep.Len())
		default:
			for i := range res {
				cat, labels, msg := rep.Result(i)
				if msg != "" {
					res[i].Err = errors.New(msg)
				} else {
					res[i].Category, res[i].Labels = cat, labels
				}
			}
		}
		out[seq-1] = res
	}
	if err := stream.CloseSend(); err != nil {
		return nil, err
	}
	return out, nil
}

// Shutdown calls the plugin's Shutdown.
func (c *Client) Shutdown(ctx context.Context) error { return c.rpc.Shutdown(ctx) }

// encoder turns sdk records into protocol records, sharing one names
// slice per sdk.Header as the pipeline shares one header per file.
type encoder struct {
	headers map[*sdk.Header][]string
}

func newEncoder() *encoder { return &encoder{headers: map[*sdk.Header][]string{}} }

func (e *encoder) records(in []sdk.Record) []protocol.Record {
	out := make([]protocol.Record, len(in))
	for i, r := range in {
		c := protocol.Record{
			Kind:     protocol.Kind(r.Kind),
			Data:     r.Data,
			Fields:   r.Fields,
			File:     r.Source.File,
			Offset:   r.Source.Offset,
			Line:     r.Source.Line,
			Ordinal:  r.Source.Ordinal,
			Category: r.Category,
			Labels:   r.Labels,
		}
		if r.Header != nil {
			h, ok := e.headers[r.Header]
			if !ok {
				h = slices.Clone(r.Header.Names)
				e.headers[r.Header] = h
			}
			c.Header = h
		}
		out[i] = c
	}
	return out
}
