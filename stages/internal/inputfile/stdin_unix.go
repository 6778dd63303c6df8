//go:build unix

package inputfile

import (
	"io/fs"
	"os"
	"syscall"
)

// pollable returns a new file for in's descriptor that Go's poller
// serves, so that a read from a pipe or socket can be interrupted (by a
// deadline), and release, which undoes that and closes the new file. The
// descriptor is duplicated and put in non-blocking mode; since that mode
// belongs to the open pipe (shared with the duplicate), release puts it
// back to blocking. Other files (a regular file redirected in) are
// duplicated as they are.
func pollable(in *os.File) (*os.File, func() error, error) {
	st, err := in.Stat()
	if err != nil {
		return nil, nil, err
	}
	fd, err := syscall.Dup(int(in.Fd()))
	if err != nil {
		return nil, nil, err
	}
	syscall.CloseOnExec(fd)
	stream := st.Mode()&(fs.ModeNamedPipe|fs.ModeSocket) != 0
	if stream {
		if err := syscall.SetNonblock(fd, true); err != nil {
			syscall.Close(fd)
			return nil, nil, err
		}
	}
	f := os.NewFile(uintptr(fd), stdinName)
	release := func() error {
		if stream {
			syscall.SetNonblock(fd, false)
		}
		return f.Close()
	}
	return f, release, nil
}
