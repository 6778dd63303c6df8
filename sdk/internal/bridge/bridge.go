// Package bridge lets package sdk/sdktest reach the sdk's server without the
// sdk exporting it: package sdk sets Register when it is initialised.
package bridge

import "google.golang.org/grpc"

// Register registers the classifier service for p, an sdk.Plugin, on s. It
// is set by package sdk's init; it is nil only if package sdk is not linked,
// which cannot happen in a program that imports sdk/sdktest.
var Register func(s *grpc.Server, p any) error
