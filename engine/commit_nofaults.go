//go:build !sluicefaults

package engine

// faultsFromEnv returns nil: fault injection exists only in binaries built
// with the sluicefaults tag.
func faultsFromEnv() *faults { return nil }
