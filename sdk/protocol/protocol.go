package protocol

import (
	"context"
	"fmt"
	"math"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sluicehq/sluice/sdk/internal/pluginpb"
	"github.com/sluicehq/sluice/sdk/internal/wirecodec"
)

// ProtocolVersion is the version of the plugin protocol, checked in the
// go-plugin handshake before any call. It changes only when a change to the
// protocol would break plugins built against an older sdk; adding fields
// does not change it.
const ProtocolVersion = 1

// PluginName is the name under which the classifier is registered in
// go-plugin's plugin set, on both sides.
const PluginName = "classifier"

// MaxMessageBytes is the largest message either side accepts (gRPC's own
// default is 4 MiB). The host never builds a batch larger than its byte cap
// except for a single record that is itself larger.
const MaxMessageBytes = math.MaxInt32

// SharedMemoryEnv is the environment variable through which the host tells
// a plugin process which of its file descriptors is the memory the two
// share: a file the host maps read-write and the plugin maps read-only. The
// host writes the body of a batch (its records, headers and files) there
// and sends only the batch's sequence number and the body's place over the
// socket, so the records' bytes are neither encrypted nor copied through
// the kernel twice. A plugin that maps it says so in Describe
// (DescribeResponse.shared_memory); to any other plugin the host sends every
// batch whole over the socket.
const SharedMemoryEnv = "SLUICE_SHM_FD"

// SDKName is what the Go sdk reports as its DescribeResponse.sdk.
const SDKName = "sluice-go-sdk"

// Handshake returns the go-plugin handshake shared by the host and every
// plugin: the protocol version and a cookie that makes a plugin binary refuse
// to run when started by hand. It returns a new value on each call.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "SLUICE_CLASSIFIER_PLUGIN",
		MagicCookieValue: "f3c1b2e4-sluice-classifier",
	}
}

// ClientPlugin is the host's side of the go-plugin registration: dispensing
// it yields a *Client. It cannot serve (the sdk does that).
type ClientPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

var _ plugin.GRPCPlugin = ClientPlugin{}

// GRPCServer implements plugin.GRPCPlugin; the host never serves.
func (ClientPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return fmt.Errorf("protocol: the host side of the classifier protocol cannot serve")
}

// GRPCClient implements plugin.GRPCPlugin and returns a *Client on conn.
func (ClientPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewClient(conn), nil
}

// Client calls a plugin. It is safe for concurrent use; it holds no state of
// its own beyond the connection, which its owner closes.
type Client struct {
	rpc pluginpb.ClassifierClient
}

// NewClient returns a client calling the plugin served on conn.
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{rpc: pluginpb.NewClassifierClient(conn)}
}

// Description is what a plugin says about itself in Describe.
type Description struct {
	Name            string
	Version         string
	Accepts         []Kind // nil when the plugin did not say: every kind
	ProtocolVersion int
	SDK             string
	// SharedMemory is true when the plugin reads batches from the memory
	// the host shares with it (see SharedMemoryEnv).
	SharedMemory bool
	// ConfigSchema is the plugin's config as a JSON Schema object, or ""
	// when the plugin does not describe it.
	ConfigSchema string
}

// Describe asks the plugin what it is.
func (c *Client) Describe(ctx context.Context) (*Description, error) {
	resp, err := c.rpc.Describe(ctx, &pluginpb.DescribeRequest{ProtocolVersion: ProtocolVersion})
	if err != nil {
		return nil, err
	}
	d := &Description{
		Name:            resp.GetName(),
		Version:         resp.GetVersion(),
		ProtocolVersion: int(resp.GetProtocolVersion()),
		SDK:             resp.GetSdk(),
		SharedMemory:    resp.GetSharedMemory(),
		ConfigSchema:    resp.GetConfigSchema(),
	}
	for _, k := range resp.GetAccepts() {
		d.Accepts = append(d.Accepts, Kind(k))
	}
	return d, nil
}

// InitRequest is what Init sends.
type InitRequest struct {
	Config    []byte // a JSON object; nil is sent as {}
	Stage     string
	Instance  int
	Instances int
}

// InitError is the failure a plugin reported from its Init, with its own
// message, which is meant for the user as it is.
type InitError struct {
	Message string
	// Key is the config key the error is about ("cache", "cache.size"),
	// or "" when the plugin did not say.
	Key string
}

func (e *InitError) Error() string { return e.Message }

// Init asks the plugin to build its state. A failure the plugin reports is
// an *InitError; other errors are about the call.
func (c *Client) Init(ctx context.Context, req *InitRequest) error {
	cfg := req.Config
	if len(cfg) == 0 {
		cfg = []byte("{}")
	}
	resp, err := c.rpc.Init(ctx, &pluginpb.InitRequest{
		ConfigJson: cfg,
		Stage:      req.Stage,
		Instance:   uint32(req.Instance),
		Instances:  uint32(req.Instances),
	})
	if err != nil {
		return err
	}
	if msg := resp.GetError(); msg != "" {
		return &InitError{Message: msg, Key: resp.GetErrorKey()}
	}
	return nil
}

// Shutdown asks the plugin to release its state.
func (c *Client) Shutdown(ctx context.Context) error {
	_, err := c.rpc.Shutdown(ctx, &pluginpb.ShutdownRequest{})
	return err
}

// Classify opens the stream of batches. The stream lives until ctx is
// cancelled, CloseSend is called and the plugin has answered, or the
// connection fails.
func (c *Client) Classify(ctx context.Context) (*Stream, error) {
	s, err := c.rpc.Classify(ctx, grpc.ForceCodecV2(wirecodec.Codec()))
	if err != nil {
		return nil, err
	}
	return &Stream{s: s}, nil
}

// Stream is one open Classify stream. Send may be called from one goroutine
// at a time and Recv from one goroutine at a time; the two may run at once.
type Stream struct {
	s grpc.BidiStreamingClient[pluginpb.ClassifyRequest, pluginpb.ClassifyResponse]
}

// Send sends a batch. It blocks while the plugin is not reading (flow
// control); it fails once the connection has failed.
func (s *Stream) Send(b *Batch) error { return s.s.Send(b.msg) }

// Recv returns the next answer, in whatever order the plugin answers.
func (s *Stream) Recv() (*Reply, error) {
	m, err := s.s.Recv()
	if err != nil {
		return nil, err
	}
	return &Reply{msg: m}, nil
}

// CloseSend tells the plugin no more batches will come.
func (s *Stream) CloseSend() error { return s.s.CloseSend() }

// Batch is an encoded batch ready to send. It refers to the records' data
// without copying it, so the records must not change until it is sent.
type Batch struct {
	msg *pluginpb.ClassifyRequest
}

// headerKey identifies a header slice by its backing array and length.
type headerKey struct {
	first *string
	n     int
}

// Encode builds the request for records under the sequence number seq. CSV
// headers (by slice identity) and file names are sent once per batch and
// referred to by index. It allocates the message and one slab for the
// records, and copies no record data; it keeps no reference to the records
// slice itself, so the caller may reuse it once Encode returns.
func Encode(seq uint64, records []Record) *Batch {
	msg := &pluginpb.ClassifyRequest{Seq: seq, Records: make([]*pluginpb.Record, len(records))}
	slab := make([]pluginpb.Record, len(records))
	var (
		lastHeader headerKey
		lastHdrIdx uint32
		lastFile   string
		lastFileIx uint32
		headers    map[headerKey]uint32
		files      map[string]uint32
	)
	for i := range records {
		r := &records[i]
		p := &slab[i]
		p.Kind = pluginpb.Kind(r.Kind)
		p.Data = r.Data
		p.Fields = r.Fields
		p.Offset = r.Offset
		p.Line = r.Line
		p.Ordinal = r.Ordinal
		p.Category = r.Category
		p.Labels = r.Labels
		if h := r.Header; len(h) > 0 {
			key := headerKey{&h[0], len(h)}
			if key != lastHeader {
				if headers == nil {
					headers = map[headerKey]uint32{}
				}
				idx, ok := headers[key]
				if !ok {
					msg.Headers = append(msg.Headers, &pluginpb.Header{Names: h})
					idx = uint32(len(msg.Headers))
					headers[key] = idx
				}
				lastHeader, lastHdrIdx = key, idx
			}
			p.Header = lastHdrIdx
		}
		if f := r.File; f != "" {
			if f != lastFile || lastFileIx == 0 {
				if files == nil {
					files = map[string]uint32{}
				}
				idx, ok := files[f]
				if !ok {
					msg.Files = append(msg.Files, f)
					idx = uint32(len(msg.Files))
					files[f] = idx
				}
				lastFile, lastFileIx = f, idx
			}
			p.File = lastFileIx
		}
		msg.Records[i] = p
	}
	return &Batch{msg: msg}
}

// Seq returns the batch's sequence number.
func (b *Batch) Seq() uint64 { return b.msg.GetSeq() }

// Len returns the number of records in the batch.
func (b *Batch) Len() int { return len(b.msg.GetRecords()) }

// Reply is a plugin's answer to one batch.
type Reply struct {
	msg *pluginpb.ClassifyResponse
}

// Seq returns the sequence number of the batch this answers.
func (r *Reply) Seq() uint64 { return r.msg.GetSeq() }

// Err returns the error the plugin reported for the whole batch, or "".
func (r *Reply) Err() string { return r.msg.GetError() }

// Len returns the number of results.
func (r *Reply) Len() int { return len(r.msg.GetResults()) }

// Result returns the i-th result: its category, labels (nil when none) and
// the error the plugin reported for that record ("" when none).
func (r *Reply) Result(i int) (category string, labels map[string]string, err string) {
	res := r.msg.GetResults()[i]
	return res.GetCategory(), res.GetLabels(), res.GetError()
}

// SharedSize returns the size of the batch's body as AppendShared encodes
// it, and false when the body cannot be placed in shared memory: a string
// that protobuf's string fields do not allow (not valid UTF-8), which the
// socket's encoder reports as an error instead.
func (b *Batch) SharedSize() (int, bool) { return wirecodec.SharedSize(b.msg) }

// AppendShared appends the batch's body to dst, encoded as a
// ClassifyRequest without seq, and returns the extended slice: the layout a
// plugin reads from shared memory (SharedMemoryEnv). Call it only after
// SharedSize said the body can be encoded.
func (b *Batch) AppendShared(dst []byte) []byte { return wirecodec.AppendShared(dst, b.msg) }

// SendShared sends b as a request whose body the caller has already
// written to shared memory at [off, off+n) (see SharedMemoryEnv).
func (s *Stream) SendShared(b *Batch, off, n int) error {
	return s.s.Send(&pluginpb.ClassifyRequest{Seq: b.Seq(), ShmOffset: uint64(off), ShmLength: uint64(n)})
}
