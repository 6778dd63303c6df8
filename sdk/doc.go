// Package sdk is what a classifier plugin for sluice imports, and all it
// imports from sluice.
//
// A plugin is a program whose main is one call to Serve. sluice starts it as
// a subprocess (through hashicorp/go-plugin, over gRPC), once per instance a
// classify stage asks for, and feeds it batches of records:
//
//	func main() {
//		sdk.Serve(sdk.Plugin{
//			Name:       "catalog",
//			Version:    "1.2.0",
//			Accepts:    []sdk.Kind{sdk.XML},
//			Classifier: &classifier{},
//		})
//	}
//
// A plugin is usually a module of its own. Until the sdk has release tags,
// its go.mod requires the sdk module and replaces it by the sdk directory
// of a clone of sluice:
//
//	require github.com/sluicehq/sluice/sdk v0.0.0
//
//	replace github.com/sluicehq/sluice/sdk => ../sluice/sdk
//
// The guide "Writing a classifier plugin" (docs/writing-plugins.md in
// sluice's repository) walks through a whole plugin in Go and in Python:
// the module, source: vs command:, how paths in the stage's config resolve,
// and trying a plugin by hand.
//
// The sdk module links nothing of sluice's engine (a test in sluice keeps it
// so): only go-plugin, gRPC and protobuf. Its packages are sdk (this one),
// sdk/sdktest (testing a plugin), sdk/protocol (the host's side of the wire
// protocol, which sluice's engine uses), and sdk/xmlview and sdk/xmlname
// (the XML record reader that sluice's stages and XMLReader share). All of
// them are covered by the sdk's compatibility promise.
//
// # The contract
//
// Lifecycle. Each process is initialised once (Initializer.Init, with the
// stage's `plugin.config`), then asked to classify batches until the run
// ends, and finally told to shut down (Shutdowner.Shutdown). Init is the
// place to build state that cannot be serialised or shared: open files and
// indexes, compiled matchers, C-library handles, locks. A process never
// serves two stages.
//
// Concurrency. Classify is not called concurrently unless
// Plugin.Concurrency says so; sluice runs more processes for more cores.
// Records of a batch arrive in input order; answers are one per record, in
// the same order.
//
// Batches do not matter. sluice cuts the input into batches as it likes,
// re-sends a batch after a crash, and splits batches to find a record that
// crashes the plugin. A record's answer must not depend on which other
// records share its batch, or on how many times it was seen; caches are
// fine, answers that change are not.
//
// Errors. A Result.Err rejects one record; a returned error rejects the
// whole batch. Either goes to the stage's on_error policy (fail the run,
// skip, or dead-letter the record with its message) and the plugin goes on.
// An error from Init stops the run before it starts and is shown to the user
// as it is: say what is wrong and how to fix it.
//
// Config. Give Plugin.Config the plugin's config struct holding its
// defaults, and decode into a copy of it in Init with DecodeConfig:
//
//	type Config struct {
//		Spec  string `json:"spec" required:"true" doc:"Path of the spec file."`
//		Cache int    `json:"cache" doc:"Entries kept in memory."`
//	}
//
//	sdk.Plugin{Name: "catalog", Classifier: &classifier{}, Config: Config{Cache: 1000}}
//
// Describe then sends its JSON Schema (ConfigSchema), so `sluice validate`
// checks each stage's plugin.config against it before the run (an unknown
// key is an error at its line, with a "did you mean"; so is a value of the
// wrong type or a missing required key) and `sluice plugin describe`
// prints the keys with their types, defaults and docs. DecodeConfig's
// errors name the key at fault (ConfigError), and so may Init's own: sluice
// shows them at that key's position in the pipeline file. Without
// Plugin.Config, validate says it could not check the config.
//
// Crashes. A panic, a segmentation fault in a C library, or os.Exit kills
// the process. sluice notices at once, starts a new process (which is
// initialised again), and re-sends the batches that were in flight; a batch
// that crashes the plugin twice is bisected until the one record that causes
// it is found, and that record alone is rejected. A batch that takes longer
// than the stage's plugin.timeout is treated the same way. Past
// plugin.max_restarts, the run fails, showing the last lines the plugin
// wrote on stderr.
//
// Output. stdout carries go-plugin's handshake: print nothing there before
// Serve. After Serve, anything written to stdout or stderr, and anything
// logged with the log or log/slog packages, reaches sluice's log tagged with
// the plugin's name.
//
// Transport. On Linux, Serve maps read-only the memory that sluice shares
// with the process for batches, and sluice puts each batch's records there
// rather than on the socket (see plugin.shared_memory in package plugins).
// A Record's Data is a private copy either way: it stays valid after
// Classify returns.
//
// Lifetime. A plugin process exits when sluice stops it, and on its own when
// sluice goes away, even if sluice was killed.
//
// Reading records. An XML record's Data is one element with the namespace
// declarations it uses. XMLReader reads attributes and text anywhere in it
// by a small path syntax ("title", "published/@place", Each over
// "authors/author"), with the rules, and at the speed, of sluice's own
// classify and count stages, so that a plugin and a rule see a record
// alike (encoding/xml costs several times more per record, and allocates
// about fifteen times as often). A path the syntax does not support
// ("//", predicates, "..") is an error, never an empty answer.
//
// Test a plugin with package sdk/sdktest, which serves it in process over
// real gRPC and checks it against this contract.
package sdk
