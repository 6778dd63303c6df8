//go:build !linux

package write

import (
	"errors"
	"os"
)

var errNoWriteBehind = errors.New("write-behind needs Linux")

// startWritebackOS fails, which turns write-behind off: it needs
// sync_file_range(2), which only Linux has.
func startWritebackOS(*os.File, int64, int64) error { return errNoWriteBehind }

func dropCachedOS(*os.File, int64, int64) error { return errNoWriteBehind }
