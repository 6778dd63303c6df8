"""serve(): the plugin side of the go-plugin protocol, over gRPC."""

from __future__ import annotations

import json
import logging
import mmap
import os
import shutil
import signal
import sys
import tempfile
import threading
import warnings
from concurrent import futures
from typing import Any, Callable, Iterator, NoReturn, Union

import grpc

from . import _stdio
from ._api import (Classifier, PluginError, Record, Result, _Tables, describe_exception, log,
                   log_traceback, plugin_name, validate)
from ._config import apply_config, config_schema
from ._proto import classifier_pb2 as pb
from ._proto import classifier_pb2_grpc as pb_grpc
from ._proto import grpc_controller_pb2 as ctl
from ._proto import grpc_controller_pb2_grpc as ctl_grpc
from ._proto import health_pb2 as health
from ._proto import health_pb2_grpc as health_grpc

#: What this sdk reports as DescribeResponse.sdk.
SDK_NAME = "sluice-python-sdk"
#: The largest message either side accepts (sdk/protocol.MaxMessageBytes).
MAX_MESSAGE_BYTES = 2**31 - 1
#: How often the process checks that its host is still there.
PARENT_CHECK_SECONDS = 0.5

#: The environment variable naming the descriptor of the memory the host
#: shares with the plugin for batches (sdk/protocol.SharedMemoryEnv).
SHARED_MEMORY_ENV = "SLUICE_SHM_FD"

_GRPC_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]


class _ClassifierService(pb_grpc.ClassifierServicer):
    """The protocol's Classifier service on top of a Classifier object."""

    def __init__(self, clf: Classifier, on_first_call: Callable[[], None] | None = None,
                 shared: mmap.mmap | None = None) -> None:
        self.clf = clf
        self._shared = shared
        self._on_first_call = on_first_call
        self._lock = threading.Lock()
        self._init_done = False
        self._init_err = ""
        self._needs_init = type(clf).init is not Classifier.init or type(clf).config is not None
        self._schema = json.dumps(config_schema(type(clf).config)) if type(clf).config is not None else ""

    def Describe(self, request: Any, context: Any) -> Any:
        if self._on_first_call is not None:
            first, self._on_first_call = self._on_first_call, None
            first()
        return pb.DescribeResponse(
            name=plugin_name(self.clf),
            version=type(self.clf).version,
            accepts=[int(k) for k in type(self.clf).accepts],
            protocol_version=_stdio.PROTOCOL_VERSION,
            sdk=SDK_NAME,
            shared_memory=self._shared is not None,
            config_schema=self._schema,
        )

    def Init(self, request: Any, context: Any) -> Any:
        with self._lock:
            if self._init_done:
                return pb.InitResponse(error="Init called twice on one plugin process")
            self._init_done = True
            try:
                config = json.loads(request.config_json or b"{}")
            except ValueError as exc:
                self._init_err = f"config is not valid JSON: {exc}"
                return pb.InitResponse(error=self._init_err)
            if not isinstance(config, dict):
                self._init_err = f"config must be a JSON object, got {type(config).__name__}"
                return pb.InitResponse(error=self._init_err)
            self.clf.stage = request.stage
            self.clf.instance = request.instance
            self.clf.instances = request.instances
            try:
                if type(self.clf).config is not None:
                    config = apply_config(type(self.clf).config, config)
                self.clf.init(config)
            except Exception as exc:  # noqa: BLE001 - reported to the host
                if not isinstance(exc, PluginError):
                    log_traceback("init failed", exc)
                self._init_err = describe_exception(exc)
                return pb.InitResponse(error=self._init_err, error_key=getattr(exc, "key", "") if isinstance(exc, PluginError) else "")
            except SystemExit as exc:
                _exit_on(exc, "init")
            return pb.InitResponse()

    def Classify(self, request_iterator: Iterator[Any], context: Any) -> Iterator[Any]:
        # One batch at a time, answered in order: classify is never called
        # concurrently (the protocol allows any order; this is one of them).
        for req in request_iterator:
            yield self.answer(req)

    def answer(self, req: Any) -> Any:
        """Classify one ClassifyRequest into its ClassifyResponse."""
        resp = pb.ClassifyResponse(seq=req.seq)
        with self._lock:
            ready = not self._needs_init or (self._init_done and not self._init_err)
        if not ready:
            resp.error = "Classify called before a successful Init"
            return resp
        if req.shm_length:
            try:
                req = self._read_shared(req)
            except ValueError as exc:
                resp.error = f"sluice_plugin: {exc}"
                return resp
        tables = _Tables(req.files, req.headers)
        batch = [Record(m, tables) for m in req.records]
        try:
            answers = self.clf.classify(batch)
        except Exception as exc:  # noqa: BLE001 - rejects the batch
            log_traceback("classify failed for a whole batch", exc)
            resp.error = describe_exception(exc)
            return resp
        except SystemExit as exc:
            _exit_on(exc, "classify")
        try:
            n = len(answers)
        except TypeError:
            n = -1
        if n != len(batch):
            resp.error = (f"plugin bug: classify returned {'a ' + type(answers).__name__ if n < 0 else n} "
                          f"for {len(batch)} records (it must return one Result or str per record, in order)")
            return resp
        add = resp.results.add
        for i, a in enumerate(answers):
            if a.__class__ is str:
                add(category=a)
            elif isinstance(a, Result):
                if a.error is not None:
                    add(error=str(a.error))
                    continue
                try:
                    if a.labels:
                        add(category=a.category, labels=a.labels)
                    else:
                        add(category=a.category)
                except (TypeError, ValueError) as exc:
                    if len(resp.results) > i:
                        del resp.results[i:]
                    add(error=f"plugin bug: the result for record {i + 1} is invalid "
                              f"(category must be a str, labels a dict of str to str): {exc}")
            else:
                add(error=f"plugin bug: classify answered record {i + 1} with a "
                          f"{type(a).__name__}; answer with a sluice_plugin.Result or a str")
        return resp

    def _read_shared(self, req: Any) -> Any:
        """Return the request whose body the host put in shared memory."""
        mem, off, n = self._shared, req.shm_offset, req.shm_length
        if mem is None:
            raise ValueError("the request's records are in shared memory, but the plugin has none mapped")
        if off > len(mem) or n > len(mem) - off:
            raise ValueError(f"the request's records are at bytes {off} to {off + n} of shared memory, "
                             f"which has {len(mem)}")
        body = pb.ClassifyRequest()
        try:
            with warnings.catch_warnings():
                # Some protobuf releases stop at a bad tag with a warning,
                # not an error: the length read tells.
                warnings.simplefilter("ignore")
                read = body.MergeFromString(mem[off:off + n])  # a copy: the host reuses the memory
        except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and kin
            raise ValueError(f"in shared memory: decoding ClassifyRequest: {exc}") from exc
        if read != n:
            raise ValueError(f"in shared memory: decoding ClassifyRequest: bytes {off + read} to {off + n} are not part of it")
        return body

    def Shutdown(self, request: Any, context: Any) -> Any:
        try:
            self.clf.shutdown()
        except Exception as exc:  # noqa: BLE001 - reported to the host
            log_traceback("shutdown failed", exc)
            context.abort(grpc.StatusCode.INTERNAL, describe_exception(exc))
        return pb.ShutdownResponse()


class _HealthService(health_grpc.HealthServicer):
    """grpc.health.v1.Health, as go-plugin's servers answer it."""

    def Check(self, request: Any, context: Any) -> Any:
        if request.service in ("", "plugin"):
            return health.HealthCheckResponse(status=health.HealthCheckResponse.SERVING)
        context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")


class _ControllerService(ctl_grpc.GRPCControllerServicer):
    """go-plugin's controller: Shutdown asks the process to exit."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop

    def Shutdown(self, request: Any, context: Any) -> Any:
        # Answer first, then stop: the host waits for the process to exit.
        threading.Timer(0.05, self._stop).start()
        return ctl.Empty()


def new_server(clf: Classifier, stop: Callable[[], None],
               on_first_call: Callable[[], None] | None = None,
               shared: mmap.mmap | None = None) -> Any:
    """Return an unstarted gRPC server serving clf and go-plugin's services.

    shared is the mapping of the memory the host shares for batches, if any.
    """
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="sluice-plugin"),
                         options=_GRPC_OPTIONS)
    pb_grpc.add_ClassifierServicer_to_server(_ClassifierService(clf, on_first_call, shared), server)
    health_grpc.add_HealthServicer_to_server(_HealthService(), server)
    ctl_grpc.add_GRPCControllerServicer_to_server(_ControllerService(stop), server)
    return server


def _map_shared() -> mmap.mmap | None:
    """Map, read-only, the memory the host shares for batches, if it shares any.

    The descriptor is closed once mapped (the mapping outlives it), so that
    processes the plugin starts do not inherit it. Returns None when the host
    shares none, or when mapping fails (logged: batches then come over the
    socket).
    """
    value = os.environ.pop(SHARED_MEMORY_ENV, None)
    if value is None:
        return None
    try:
        fd = int(value)
        if fd < 3:
            raise ValueError("not a descriptor above 2")
    except ValueError:
        log.warning("%s=%r is not a file descriptor above 2; batches come over the socket", SHARED_MEMORY_ENV, value)
        return None
    try:
        size = os.fstat(fd).st_size
        return mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    except (OSError, ValueError) as exc:
        log.warning("cannot map the shared memory (%s=%d): %s; batches come over the socket", SHARED_MEMORY_ENV, fd, exc)
        return None
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def _setup_logging() -> None:
    root = logging.getLogger()
    if not root.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(h)
        root.setLevel(logging.INFO)


def _watch_parent(ppid: int) -> None:
    """Exit when the host goes away, even if it was killed with SIGKILL.

    On Linux the kernel is asked for SIGKILL when the parent dies; on every
    Unix a thread also checks that the parent is still the same process.
    """
    if ppid <= 1:
        return
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            if os.getppid() != ppid:
                sys.stderr.write("sluice_plugin: the host process went away; exiting\n")
                sys.stderr.flush()
                os._exit(1)
            threading.Event().wait(PARENT_CHECK_SECONDS)

    threading.Thread(target=watch, name="sluice-plugin-parent", daemon=True).start()
    if os.getppid() != ppid:  # the parent died before the watch began
        os._exit(1)


def _exit_on(exc: SystemExit, where: str) -> NoReturn:
    """Exit the process as sys.exit asked, from a gRPC handler thread.

    Raised there, SystemExit would end the thread alone and leave the host
    waiting for an answer until its timeout; the process exits instead, so
    that the host sees it at once, with the status and what it wrote.
    """
    code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    sys.stderr.write(f"sluice_plugin: {where} called sys.exit({exc.code!r}); the plugin process exits\n")
    _exit(code)


def _exit(code: int) -> NoReturn:
    for f in (sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except (OSError, ValueError):
            pass
    # os._exit: gRPC's threads must not delay or hang interpreter shutdown.
    os._exit(code)


def serve(classifier: Union[type[Classifier], Classifier]) -> NoReturn:
    """Run classifier as a sluice plugin process; it never returns.

    It is the whole of a plugin script's main block::

        if __name__ == "__main__":
            sluice_plugin.serve(MyClassifier)

    classifier is a Classifier subclass (instantiated with no arguments) or
    an instance. serve checks the handshake cookie (started by hand rather
    than by sluice, it explains and exits with status 1), listens on a unix
    socket in a private temporary directory, writes the go-plugin handshake
    line, serves the classifier, go-plugin's controller and gRPC health
    over gRPC, and exits when the host stops it or goes away. A classifier
    that is not valid makes it print the problem and exit with status 2.

    Logging goes to stderr (the host logs it, tagged with the plugin's
    name), as does anything printed: import sluice_plugin before anything
    that might write to stdout.
    """
    _setup_logging()
    if not _stdio.started_by_host():
        sys.stderr.write(
            "This program is a sluice classifier plugin: it is started by sluice, not by hand.\n"
            "Name it in a pipeline's classify stage, e.g. plugin: {command: [python3, this_script.py]},\n"
            "or check it with: python3 -m sluice_plugin check this_script.py\n")
        _exit(1)
    try:
        clf = classifier() if isinstance(classifier, type) else classifier
    except Exception as exc:  # noqa: BLE001 - reported on stderr, before the handshake
        log.error("creating the classifier failed", exc_info=exc)
        _exit(1)
    errs = validate(clf)
    if errs:
        sys.stderr.write("sluice_plugin.serve: " + "; ".join(errs) + "\n")
        _exit(2)
    versions = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", str(_stdio.PROTOCOL_VERSION)).split(",")
    if str(_stdio.PROTOCOL_VERSION) not in versions:
        log.error("the host speaks protocol versions %s and this sdk speaks %d; use the sluice_plugin "
                  "package of the same sluice version", ",".join(versions), _stdio.PROTOCOL_VERSION)
    # The host manages the plugin's life: a Ctrl-C in the terminal is for it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(os.getppid())

    sockdir = tempfile.mkdtemp(prefix="sluice-plugin-", dir=os.environ.get("PLUGIN_UNIX_SOCKET_DIR") or None)
    sock = os.path.join(sockdir, "plugin.sock")
    stopped = threading.Event()

    def forget_socket() -> None:
        # The host is connected: the socket's name is no longer needed, and
        # removing it now leaves nothing behind even after a SIGKILL.
        shutil.rmtree(sockdir, ignore_errors=True)

    server = new_server(clf, stopped.set, on_first_call=forget_socket, shared=_map_shared())
    server.add_insecure_port("unix:" + sock)
    server.start()
    line = (f"{_stdio.CORE_PROTOCOL_VERSION}|{_stdio.PROTOCOL_VERSION}|unix|{sock}|grpc|\n").encode()
    fd = _stdio.take_handshake_fd()
    if fd is None:
        fd = os.dup(1)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    while not stopped.wait(1.0):
        pass
    server.stop(0.5).wait(1.0)
    forget_socket()
    _exit(0)
