// Package wire is the host's side of the classifier plugin protocol: the
// go-plugin handshake, the gRPC client for Describe, Init, the Classify
// stream and Shutdown, and the encoding of core.Records into batches.
//
// Package plugins uses it to supervise plugin processes, and package
// sdk/sdktest to drive a classifier in tests. Package sdk uses the parts
// both sides share: the gRPC codec and the layout of batches in shared
// memory (SharedMemoryEnv). Plugin authors do not need it: they import
// package sdk. The generated protobuf types stay internal to sdk/; the one
// exported signature here that has them, ReadShared's, is for package sdk.
//
// Compatibility: ProtocolVersion is checked in the handshake, so a plugin
// built against an incompatible sdk is refused before any call, with a
// message that says to rebuild it. Fields added to the protocol's messages
// are ignored by older peers.
package wire
