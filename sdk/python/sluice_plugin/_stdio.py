"""Keeps the plugin's stdout for the go-plugin handshake.

The host reads the handshake line from the plugin's stdout, so nothing else
may reach it first. When this module is imported in a process started by
sluice (the magic cookie is in the environment), it takes a private
duplicate of file descriptor 1 for the handshake and points descriptor 1 at
stderr. From then on, print(), sys.stdout, C extensions writing to
descriptor 1 and child processes all write to stderr, which the host logs
line by line. It is the first thing ``import sluice_plugin`` does, before
grpc or protobuf are imported.
"""

from __future__ import annotations

import os
import sys

#: The go-plugin handshake shared with the host (sdk/protocol.Handshake in Go).
MAGIC_COOKIE_KEY = "SLUICE_CLASSIFIER_PLUGIN"
MAGIC_COOKIE_VALUE = "f3c1b2e4-sluice-classifier"
#: The version of the classifier protocol (sdk/protocol.ProtocolVersion).
PROTOCOL_VERSION = 1
#: go-plugin's own protocol version, the first field of the handshake line.
CORE_PROTOCOL_VERSION = 1

_handshake_fd: int | None = None


def started_by_host() -> bool:
    """Report whether the process was started by sluice (the cookie is set)."""
    return os.environ.get(MAGIC_COOKIE_KEY) == MAGIC_COOKIE_VALUE


def protect_stdout() -> None:
    """Move descriptor 1 to stderr, keeping a private copy for the handshake.

    It does nothing outside a plugin process or when it already ran. Output
    still buffered in sys.stdout is flushed later to descriptor 1, which is
    then stderr, so even a print() before ``import sluice_plugin`` is safe
    unless it was flushed.
    """
    global _handshake_fd
    if _handshake_fd is not None or not started_by_host():
        return
    try:
        fd = os.dup(1)  # not inherited by child processes
        os.dup2(2, 1)
    except OSError:
        return
    _handshake_fd = fd
    stdout = sys.stdout
    if stdout is not None and hasattr(stdout, "reconfigure"):
        # Lines reach the host's log as they are printed, not 8 KiB later.
        stdout.reconfigure(line_buffering=True)


def take_handshake_fd() -> int | None:
    """Return the private handshake descriptor once, or None if there is none."""
    global _handshake_fd
    fd, _handshake_fd = _handshake_fd, None
    return fd


protect_stdout()
