package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/sluicehq/sluice/sdk/internal/pluginpb"
	"github.com/sluicehq/sluice/sdk/internal/wirecodec"
	"github.com/sluicehq/sluice/sdk/protocol"
)

// Serve runs p as a plugin process and never returns: it is the whole of a
// plugin's main. It performs the go-plugin handshake on stdout, serves the
// classifier over gRPC (with gRPC's 4 MiB message limit raised), and exits
// when the host stops it or goes away.
//
// Nothing may be written to stdout before Serve is called, since the host
// reads the handshake from there. Once Serve runs, what the process writes to
// stdout or stderr, including from C libraries writing to the file
// descriptors directly, goes to stderr, which the host reads line by line
// into its log, tagged with the plugin's name.
//
// Unless the environment sets GOGC, Serve lets the heap grow by 16 MiB
// between garbage collections (or double, for a live heap over 16 MiB):
// a plugin allocates every batch anew, and Go's default would collect
// about once per batch. Set GOGC (plugin.env) to choose otherwise.
//
// The process also exits on its own within about half a second of its host
// disappearing (it watches its parent process), so a plugin is never left
// behind by a host that was killed. Started by hand rather than by sluice,
// the binary prints an explanation and exits with status 1. An invalid p
// (no Name or Classifier) makes Serve print the problem and exit with
// status 2.
func Serve(p Plugin) {
	if err := p.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "sdk.Serve: %v\n", err)
		os.Exit(2)
	}
	srv := newServer(p)
	srv.afterHandshake = protectStdout()
	srv.gc = newGCTuner()
	shared, err := mapShared()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sdk: batches come over the socket, not through shared memory: %v\n", err)
	}
	srv.shared = shared
	go watchParent(os.Getppid(), 500*time.Millisecond)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: protocol.Handshake(),
		Plugins:         plugin.PluginSet{protocol.PluginName: &grpcPlugin{srv: srv}},
		GRPCServer:      newGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:   p.Name,
			Level:  hclog.Error,
			Output: os.Stderr,
		}),
	})
}

func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts,
		grpc.MaxRecvMsgSize(protocol.MaxMessageBytes),
		grpc.MaxSendMsgSize(protocol.MaxMessageBytes),
		grpc.ForceServerCodecV2(wirecodec.Codec()),
	)...)
}

// watchParent exits the process when its parent changes, which on Unix means
// the host died and the process was re-parented. A parent of 1 at start (a
// process started by init) is not watched.
func watchParent(ppid int, every time.Duration) {
	if ppid <= 1 {
		return
	}
	for range time.Tick(every) {
		if os.Getppid() != ppid {
			fmt.Fprintln(os.Stderr, "sdk: the host process went away; exiting")
			os.Exit(1)
		}
	}
}

// NewGRPCServer returns a gRPC server that serves p's classifier as Serve
// does (same codec and message limits), for harnesses that run a plugin in
// their own process, such as sdk/sdktest: the caller serves it on a listener
// and stops it. A plugin's main calls Serve instead. It fails when p is
// invalid (no Name or Classifier).
func NewGRPCServer(p Plugin) (*grpc.Server, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("sdk: %w", err)
	}
	s := newGRPCServer(nil)
	pluginpb.RegisterClassifierServer(s, newServer(p))
	return s, nil
}

// grpcPlugin is the plugin side of the go-plugin registration.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv pluginpb.ClassifierServer
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

func (g *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterClassifierServer(s, g.srv)
	return nil
}

func (g *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: a plugin does not dispense clients")
}

// server implements the protocol on top of a Plugin.
type server struct {
	pluginpb.UnimplementedClassifierServer
	p           Plugin
	concurrency int
	// afterHandshake, when set, runs once on the first call: the handshake
	// is over by then.
	afterHandshake func()
	handshakeDone  sync.Once
	// gc tunes the garbage collector of a plugin process (nil in tests,
	// which serve in the test's process).
	gc *gcTuner
	// shared is this process's read-only mapping of the memory the host
	// places batches in, or nil when there is none (protocol.SharedMemoryEnv).
	shared []byte

	mu       sync.Mutex
	initDone bool
	initErr  string
}

var _ pluginpb.ClassifierServer = (*server)(nil)

func newServer(p Plugin) *server {
	return &server{p: p, concurrency: max(p.Concurrency, 1)}
}

func (s *server) Describe(context.Context, *pluginpb.DescribeRequest) (*pluginpb.DescribeResponse, error) {
	if s.afterHandshake != nil {
		s.handshakeDone.Do(s.afterHandshake)
	}
	resp := &pluginpb.DescribeResponse{
		Name:            s.p.Name,
		Version:         s.p.Version,
		ProtocolVersion: protocol.ProtocolVersion,
		Sdk:             protocol.SDKName,
		SharedMemory:    s.shared != nil,
	}
	if s.p.Config != nil {
		schema, _ := ConfigSchema(s.p.Config) // checked by Plugin.validate
		resp.ConfigSchema = string(schema)
	}
	for _, k := range s.p.Accepts {
		resp.Accepts = append(resp.Accepts, pluginpb.Kind(k))
	}
	return resp, nil
}

func (s *server) Init(ctx context.Context, req *pluginpb.InitRequest) (*pluginpb.InitResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.initDone {
		return &pluginpb.InitResponse{Error: "Init called twice on one plugin process"}, nil
	}
	s.initDone = true
	in, ok := s.p.Classifier.(Initializer)
	if !ok {
		return &pluginpb.InitResponse{}, nil
	}
	defer s.gc.update() // Init built the plugin's state: size the heap for it
	_, err := in.Init(ctx, &InitRequest{
		Config:    req.GetConfigJson(),
		Stage:     req.GetStage(),
		Instance:  int(req.GetInstance()),
		Instances: int(req.GetInstances()),
	})
	if err != nil {
		s.initErr = errorText(err)
		return &pluginpb.InitResponse{Error: s.initErr, ErrorKey: errorKey(err)}, nil
	}
	return &pluginpb.InitResponse{}, nil
}

func (s *server) Shutdown(ctx context.Context, _ *pluginpb.ShutdownRequest) (*pluginpb.ShutdownResponse, error) {
	if sd, ok := s.p.Classifier.(Shutdowner); ok {
		if err := sd.Shutdown(ctx); err != nil {
			return nil, err
		}
	}
	return &pluginpb.ShutdownResponse{}, nil
}

// Classify reads batches and answers each, running up to s.concurrency
// Classifier calls at once. Answers are sent as they are ready.
func (s *server) Classify(stream grpc.BidiStreamingServer[pluginpb.ClassifyRequest, pluginpb.ClassifyResponse]) error {
	ctx := stream.Context()
	sem := make(chan struct{}, s.concurrency)
	var (
		wg      sync.WaitGroup
		sendMu  sync.Mutex
		sendErr error
	)
	send := func(resp *pluginpb.ClassifyResponse) {
		sendMu.Lock()
		defer sendMu.Unlock()
		if sendErr == nil {
			sendErr = stream.Send(resp)
		}
	}
	defer wg.Wait()
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			send(s.classify(ctx, req))
			s.gc.update()
		})
	}
}

func (s *server) classify(ctx context.Context, req *pluginpb.ClassifyRequest) *pluginpb.ClassifyResponse {
	out := &pluginpb.ClassifyResponse{Seq: req.GetSeq()}
	s.mu.Lock()
	initDone, initErr := s.initDone, s.initErr
	s.mu.Unlock()
	if _, needsInit := s.p.Classifier.(Initializer); needsInit && (!initDone || initErr != "") {
		out.Error = "Classify called before a successful Init"
		return out
	}
	req, err := wirecodec.ReadShared(req, s.shared)
	if err != nil {
		out.Error = "sdk: " + err.Error()
		return out
	}
	recs := decodeRecords(req)
	resp, err := s.p.Classifier.Classify(ctx, &ClassifyRequest{Records: recs})
	switch {
	case err != nil:
		out.Error = errorText(err)
		return out
	case resp == nil || len(resp.Results) != len(recs):
		n := 0
		if resp != nil {
			n = len(resp.Results)
		}
		out.Error = fmt.Sprintf("plugin bug: Classify returned %d results for %d records (it must return one per record, in order)", n, len(recs))
		return out
	}
	out.Results = make([]*pluginpb.Result, len(recs))
	slab := make([]pluginpb.Result, len(recs))
	for i, r := range resp.Results {
		p := &slab[i]
		if r.Err != nil {
			p.Error = errorText(r.Err)
		} else {
			p.Category = r.Category
			p.Labels = r.Labels
		}
		out.Results[i] = p
	}
	return out
}

// errorText is err's message, never empty (an empty message would read as
// success on the wire).
func errorText(err error) string {
	if msg := err.Error(); msg != "" {
		return msg
	}
	return fmt.Sprintf("error of type %T with an empty message", err)
}

func decodeRecords(req *pluginpb.ClassifyRequest) []Record {
	headers := make([]*Header, len(req.GetHeaders()))
	for i, h := range req.GetHeaders() {
		headers[i] = NewHeader(h.GetNames())
	}
	files := req.GetFiles()
	in := req.GetRecords()
	recs := make([]Record, len(in))
	for i, p := range in {
		r := &recs[i]
		r.Kind = Kind(p.GetKind())
		r.Data = p.GetData()
		r.Fields = p.GetFields()
		if h := p.GetHeader(); h > 0 && int(h) <= len(headers) {
			r.Header = headers[h-1]
		}
		if f := p.GetFile(); f > 0 && int(f) <= len(files) {
			r.Source.File = files[f-1]
		}
		r.Source.Offset = p.GetOffset()
		r.Source.Line = p.GetLine()
		r.Source.Ordinal = p.GetOrdinal()
		r.Category = p.GetCategory()
		r.Labels = p.GetLabels()
	}
	return recs
}
