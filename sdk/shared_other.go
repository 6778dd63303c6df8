//go:build !unix

package sdk

// mapShared returns nil: the host shares memory with plugins on Unix only.
func mapShared() ([]byte, error) { return nil, nil }
