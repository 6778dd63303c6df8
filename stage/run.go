package stage

import (
	"errors"
)

// ErrInterrupted is returned (wrapped) by Run when its context was
// cancelled from outside, e.g. on SIGINT.
var ErrInterrupted = errors.New("run interrupted")
