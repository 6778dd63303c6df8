// Package wirecodec is the encoding of the classifier protocol's messages
// that both sides share: the gRPC codec of the Classify stream (hand-written
// for the two messages that carry records and results) and the layout of a
// batch's body in the memory the host shares with a plugin.
//
// It works on the generated types of sdk/internal/pluginpb, so it is
// internal to the sdk module: package protocol wraps it for the host with
// neutral types, and package sdk uses it directly on the plugin's side.
package wirecodec
