// Package pluginpb is the generated Go code for classifier.proto, the
// protocol between sluice and its classifier plugins. It is internal: plugin
// authors use package sdk, the host uses package sdk/protocol, and neither shows
// these types in its API.
//
// Regenerate with go generate after editing classifier.proto; the test in
// this package fails when the committed code is stale.
package pluginpb

//go:generate ./generate.sh
