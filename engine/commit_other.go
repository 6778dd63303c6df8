//go:build !unix

package engine

import "os"

// lockDir is a no-op where flock does not exist: concurrent runs over the
// same outputs are not protected from each other's recovery there.
func lockDir(string) (func(), error) { return func() {}, nil }

func tryLockDir(string) (func(), bool, error) { return func() {}, true, nil }

func isSyncUnsupported(error) bool { return true }

func killSelf() { os.Exit(137) }
