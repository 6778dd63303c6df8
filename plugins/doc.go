// Package plugins is the host side of classifier plugins: it starts the
// plugin processes of a classify stage, checks and initialises them, sends
// them batches of records, supervises them, and stops them. Start is the
// entry point; the classify stage holds the Pool it returns between Setup
// and Teardown.
//
// # The plugin: options
//
// A classify stage names its plugin with a Config, the stage's `plugin:`
// mapping:
//
//	plugin:
//	  command: [bin/catalog-plugin, --verbose]   # argv, no shell; or:
//	  source: examples/go-classifier              # a Go main package, built and cached
//	  config: {spec: spec.json}                   # passed to Init as JSON
//	  instances: auto                             # processes: a number, or one per core
//	  batch_size: 1024                            # records per request
//	  batch_bytes: 4MiB                           # record bytes per request
//	  in_flight: 2                                # requests per process before an answer
//	  timeout: 30s                                # silence allowed while a batch waits
//	  start_timeout: 1m                           # start, handshake, Describe and Init
//	  max_restarts: 5                             # per run, poison isolation excepted
//	  sha256: 3f1c...                             # optional pin of the executable
//	  env: {INDEX_DIR: /data/index}               # added to the plugin's environment
//	  shared_memory: true                         # records through shared memory (Linux)
//	  tls: true                                   # TLS on a Go plugin's socket
//
// # Processes
//
// Each instance is a go-plugin subprocess speaking gRPC only, with the sdk's
// handshake cookie and protocol version, and with AutoMTLS when the
// executable is a Go program (only go-plugin's Go server implements it).
// Other plugins, such as Python ones written with sdk/python and named as
// [python3, plugin.py], listen on a unix socket in a private directory; for
// them plugin.sha256 pins the script the interpreter runs, not the
// interpreter. It is started without
// a shell, with stdin from /dev/null, in a process group of its own and with
// SIGKILL as its parent-death signal (Linux): stopping an instance kills its
// whole group, so whatever the plugin started goes too, and a host that dies
// (even by SIGKILL) takes its plugins with it. Plugins built with the sdk
// also exit when their parent changes. The directory of the plugin's socket
// is removed as soon as the host is connected, so even a host killed with
// SIGKILL leaves nothing in the temporary directory. Every wait on a process is bounded:
// go-plugin's Kill blocks while any process holds the plugin's output, so it
// runs under a timeout after which the pipes are closed.
//
// The plugin's stderr, and its stdout after the handshake, go to the log,
// one record per line, tagged with the plugin's name, the stage and the
// instance; the last lines are kept for error messages.
//
// # Shared memory
//
// On Linux each instance also gets a memory file (memfd) that the host maps
// read-write and passes to the process as descriptor 3, named by the
// environment variable SLUICE_SHM_FD; plugins built with the sdk (Go or
// Python) map it read-only and say so in Describe. The host then writes the
// records of each batch there, one slot per batch in flight, and the
// socket carries only the batch's number and place; answers still come
// over the socket, and a batch's slot is reused only after its answer. So
// the records' bytes are not encrypted, framed and copied through the
// kernel both ways, which is most of what a plugin costs per byte: on 1 KB
// records the whole round trip costs 1.5 CPU-µs per record instead of 2.7
// (BenchmarkPool). A batch that does not fit its slot (a record larger than
// batch_bytes), and every batch to a plugin that does not map the memory,
// goes over the socket whole. plugin.shared_memory: false turns it off.
// Other processes of the same user can reach the memory only as they can
// reach the plugin's own (through /proc, by ptrace rules), and the plugin
// cannot change what the host reads, since the host never reads it.
//
// # Supervision
//
// See Pool for how crashes, hangs and poison records are handled, and how
// restarts are counted against max_restarts. In short: a dead instance is
// noticed from its stream's error within milliseconds, replaced (new
// process, Init again), and its batches re-sent; a batch that fails twice
// is bisected until the record that kills the plugin is found, and only that
// record gets an error (ErrPoisonRecord), which the stage hands to its
// on_error policy. A hang past the timeout is treated as a crash, but a batch
// that hangs is not bisected: its records are sent as one-record batches to
// one instance, and the first one left unanswered at the timeout is the
// poison, so a hanging record costs about 2 timeouts rather than 3 + log2 of
// the batch size.
//
// A plugin's stderr is logged a line a record, except a Go crash report (a
// panic's or fatal error's stack trace, a fatal signal's register dump):
// it is one record, the panic as its message, its first 60 lines as its
// trace and the plugin's own file:line where it panicked; error messages
// show its head and that file:line, and say what to do next. A plugin
// that breaks its contract (another number of results than records, or an
// sdk's "plugin bug: " error) fails the run whatever on_error says
// (ErrContract).
//
// # Processes
//
// Every plugin process runs under a guard (see guard_unix.go): sluice's own
// executable started again in a hidden mode, one per instance (some 25 ms
// at start). The guard passes stdin, stdout, stderr and the shared memory
// descriptor through, starts the plugin in a process group of its own
// with SIGKILL as its parent-death signal and, on Linux, is a child
// subreaper: whatever the plugin starts stays below the guard even when it
// leaves the plugin's group or session or its parent dies. When sluice
// dies (SIGTERM as the guard's parent-death signal on Linux; elsewhere it
// notices its parent change within 100 ms), when sluice stops the instance
// (SIGTERM to the guard) or when the plugin exits, the guard SIGKILLs the
// plugin's group and every process left below it, reaps them, and exits as
// the plugin did (its exit code, or its signal). The guard itself must not
// be killed alone with SIGKILL: what left the plugin's group would be
// orphaned; sluice never does, and falls back to that only when a guard
// has not exited 3 s after SIGTERM. Outside Linux there is no subreaper:
// the guard kills the plugin's process group, and the sdks exit when their
// parent changes.
//
// With plugin.max_memory set, the guard also sums, every 100 ms, the
// resident memory of the plugin and everything below it (Linux,
// /proc/PID/statm): over the limit it writes what it saw on stderr ("the
// plugin uses 98MiB of memory, over plugin.max_memory (96MiB)"), kills them
// all and exits with status 137, which the pool handles as a crash; it
// warns each time the usage doubles from what it was a second after start
// (past 64 MiB). A cgroup's memory.max would be exact and cheaper, but
// needs a writable cgroup v2 hierarchy, which many hosts (and containers)
// do not give; this works wherever /proc does.
//
// # Plugins by source
//
// With source:, Start builds the Go package with `go build` into the user
// cache directory (os.UserCacheDir()/sluice/plugins), keyed by a hash of the
// toolchain and its settings, the go.work file, and every file of the
// packages the plugin imports from local directories (anything outside the
// module cache: its own module, modules replaced by a directory, go.work
// members, vendor/), so the build happens once per change. This needs the go command; a pinned
// sha256 applies to the built binary.
//
// The build belongs to the run. The go commands that may start processes
// of their own (go list, go build) run under the same guard as plugins;
// go env runs alone, in a group of its own with a parent-death signal.
// When the host dies (even by SIGKILL) or cancels the build (the run's
// context, as on SIGINT), the guard kills the go command and everything
// below it with SIGKILL, so compile and link go too, and removes the
// build's temporary output. go build writes to NAME.tmp-PID-*
// in the cache and the result is renamed into place; a temporary file whose
// process is gone (or older than a day) is removed by the next build.
// The log line "building plugin NAME from SOURCE (cached after the first
// run): REASON" marks the build, REASON saying what changed since the last
// build of that source (its inputs are kept in the cache's inputs/), and
// BuildSteps, given to the run's context with WithBuildSteps, records it
// with its duration for displays and reports.
//
// The cache is pruned by this rule: every use of a cached binary, built or
// found, sets its modification time to now; after each build, sluice
// removes the other builds not used for 7 days and, of the rest, keeps the
// 5 most recently used (the new one among them), except that a build used
// within the last hour is always kept, since a running pipeline may start
// it again. Removing the directory by hand is safe while no run uses it.
//
// # Paths
//
// Relative paths (the executable, source) are taken from Config.Dir, which
// the stage sets to the pipeline file's directory when it knows it, else
// from the working directory. The plugin process runs in that directory too,
// so paths inside config are relative to the same place.
package plugins
