//go:build unix

package engine

import (
	"errors"
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on dir, waiting for it: a commit holds
// it, so that a recovery started by another process leaves the commit
// alone. The lock goes with the process, however it ends.
func lockDir(dir string) (func(), error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX); err != nil {
		d.Close()
		return nil, err
	}
	return func() { d.Close() }, nil
}

// tryLockDir takes the lock of lockDir if no one holds it; ok is false
// when someone does.
func tryLockDir(dir string) (unlock func(), ok bool, err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		d.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return func() { d.Close() }, true, nil
}

func isSyncUnsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)
}

// killSelf ends the process as kill -9 would (fault injection).
func killSelf() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}
