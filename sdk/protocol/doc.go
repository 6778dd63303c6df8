// Package protocol is the classifier plugin protocol as a host speaks it:
// the go-plugin handshake (Handshake, ProtocolVersion, PluginName), a gRPC
// client for Describe, Init, the Classify stream and Shutdown (Client), the
// encoding of neutral records (Record) into batches (Encode), and the layout
// of a batch's body in the memory a host shares with a plugin
// (SharedMemoryEnv, Batch.AppendShared).
//
// Sluice's engine uses it to supervise plugin processes (it converts its own
// records to Record in package plugins), and package sdk/sdktest to drive a
// classifier in tests. Plugin authors do not need it: they import package
// sdk, which serves the other side. Its API has no generated protobuf types:
// those stay in sdk/internal/pluginpb, and the wire format is
// classifier.proto there.
//
// Compatibility: this package is part of the sdk module's compatibility
// promise. ProtocolVersion is checked in the handshake, so a plugin built
// against an incompatible sdk is refused before any call, with a message
// that says to rebuild it. Fields added to the protocol's messages are
// ignored by older peers.
package protocol
