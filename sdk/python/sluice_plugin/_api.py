"""The types a classifier plugin works with: Kind, Record, Result, Classifier."""

from __future__ import annotations

import difflib
import enum
import logging
import traceback
from typing import Any, ClassVar, Iterable, Mapping, Sequence, Union

from ._proto import classifier_pb2 as pb

log = logging.getLogger("sluice_plugin")


class Kind(enum.IntEnum):
    """The kind of a record (the protocol's Kind enum)."""

    XML = 1
    """One element subtree: Record.data holds its raw bytes."""
    CSV = 2
    """One CSV row: Record.fields holds its values, in Record.header order."""
    LINE = 3
    """One line of text, without its terminator."""
    JSON = 4
    """One JSON value (a line of a JSON-lines file)."""


_KINDS: dict[int, Kind] = {k.value: k for k in Kind}


class PluginError(Exception):
    """An error whose message is shown to the user as it is.

    Raised from Classifier.init it stops the run with this message; raised
    from Classifier.classify_record it rejects that record with it. Any other
    exception is reported as the last line of its traceback followed by
    where it was raised, e.g. ``KeyError: 'title' (plugin.py:42 in
    classify_record)``.

    key, when given, is the config key the error is about (``"cache"``, or
    ``"cache.size"`` for a nested one): raised from init, sluice then shows
    the error at that key's position in the pipeline file.
    """

    def __init__(self, *args: object, key: str = "") -> None:
        super().__init__(*args)
        self.key = key


def describe_exception(exc: BaseException) -> str:
    """Return the message sluice shows for exc: never empty.

    A PluginError gives its own message. Anything else gives the last line
    of its traceback (``ValueError: bad title``) and the file, line and
    function of the innermost frame.
    """
    if isinstance(exc, PluginError) and str(exc):
        return str(exc)
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        name = f.filename.rsplit("/", 1)[-1]
        last += f" ({name}:{f.lineno} in {f.name})"
    return last


class _Tables:
    """The CSV headers and file names of one batch, which records index."""

    __slots__ = ("files", "headers", "_index")

    def __init__(self, files: Sequence[str], headers: Sequence[Any]) -> None:
        self.files = files
        self.headers = headers
        self._index: dict[int, dict[str, int]] = {}

    def index(self, h: int) -> dict[str, int]:
        idx = self._index.get(h)
        if idx is None:
            idx = {}
            for i, name in enumerate(self.headers[h - 1].names):
                idx.setdefault(name, i)  # a repeated name is its first column
            self._index[h] = idx
        return idx


_NO_TABLES = _Tables((), ())


class Record:
    """One record to classify. It is read-only.

    A Record is valid only during the classify call that received it: keep
    what you need (record.data, record.fields) rather than the record. Its
    attributes decode nothing until they are read, so a classifier pays only
    for what it uses.
    """

    __slots__ = ("_pb", "_t")

    def __init__(self, msg: Any, tables: _Tables = _NO_TABLES) -> None:
        self._pb = msg
        self._t = tables

    @classmethod
    def make(
        cls,
        kind: Kind,
        data: bytes | str,
        *,
        header: Sequence[str] | None = None,
        fields: Sequence[str] | None = None,
        file: str = "",
        offset: int = 0,
        line: int = 0,
        ordinal: int = 0,
        category: str = "",
        labels: Mapping[str, str] | None = None,
    ) -> "Record":
        """Build a record, as sluice would send it: for tests and check."""
        if isinstance(data, str):
            data = data.encode()
        msg = pb.Record(kind=int(kind), data=data, fields=list(fields or ()), offset=offset,
                        line=line, ordinal=ordinal, category=category, labels=dict(labels or {}))
        headers = []
        if header is not None:
            headers.append(pb.Header(names=list(header)))
            msg.header = 1
        files = []
        if file:
            files.append(file)
            msg.file = 1
        return cls(msg, _Tables(files, headers))

    @property
    def kind(self) -> Kind | None:
        """The record's kind, or None for a kind this sdk does not know."""
        return _KINDS.get(self._pb.kind)

    @property
    def data(self) -> bytes:
        """The raw bytes: an XML subtree, a CSV row, a line, a JSON value."""
        return self._pb.data

    @property
    def text(self) -> str:
        """The raw bytes decoded as UTF-8 (invalid bytes replaced)."""
        return self._pb.data.decode("utf-8", "replace")

    @property
    def fields(self) -> list[str]:
        """CSV: the decoded values, in header order; [] for other kinds."""
        return list(self._pb.fields)

    @property
    def header(self) -> tuple[str, ...] | None:
        """CSV: the field names; None for other kinds."""
        h = self._pb.header
        if 0 < h <= len(self._t.headers):
            return tuple(self._t.headers[h - 1].names)
        return None

    def field(self, name: str, default: str | None = None) -> str | None:
        """Return the CSV field called name, or default when there is none."""
        h = self._pb.header
        if not 0 < h <= len(self._t.headers):
            return default
        i = self._t.index(h).get(name)
        fields = self._pb.fields
        if i is None or i >= len(fields):
            return default
        return fields[i]

    @property
    def file(self) -> str:
        """The input file's path as the pipeline found it; "" when unknown."""
        f = self._pb.file
        return self._t.files[f - 1] if 0 < f <= len(self._t.files) else ""

    @property
    def offset(self) -> int:
        """The byte offset of the record's first byte in its file, from 0."""
        return self._pb.offset

    @property
    def line(self) -> int:
        """The line of the record's first byte, from 1; 0 when unknown."""
        return self._pb.line

    @property
    def ordinal(self) -> int:
        """The record's number within its file, from 1; 0 when unknown."""
        return self._pb.ordinal

    @property
    def position(self) -> str:
        """Where the record came from: "file:line (record N, byte B)"."""
        s = self.file
        if self.line > 0:
            s += f":{self.line}"
        if self.ordinal > 0:
            s += f" (record {self.ordinal}, byte {self.offset})"
        elif self.offset > 0:
            s += f" (byte {self.offset})"
        return s

    @property
    def category(self) -> str:
        """The category an earlier stage set, or ""."""
        return self._pb.category

    @property
    def labels(self) -> dict[str, str]:
        """The labels earlier stages attached (a copy)."""
        return dict(self._pb.labels)

    def __repr__(self) -> str:
        kind = self.kind.name if self.kind else self._pb.kind
        return f"Record({kind}, {self._pb.data[:60]!r}, at {self.position or '?'})"


class Result:
    """The answer for one record.

    category is the record's category ("" is a valid answer). labels are
    added to the record's labels, replacing those of the same name; keys and
    values must be str. error, when set, rejects the record: the host
    applies the stage's on_error policy to it alone, and category and labels
    are ignored. A classifier may also answer with a plain str, which is
    short for Result(category=that str).
    """

    __slots__ = ("category", "labels", "error")

    def __init__(self, category: str = "", labels: Mapping[str, str] | None = None,
                 error: str | None = None) -> None:
        self.category = category
        self.labels = labels
        if error is not None and not error:
            error = "rejected with an empty message"
        self.error = error

    @classmethod
    def reject(cls, message: str) -> "Result":
        """Return a Result that rejects the record with message."""
        return cls(error=message)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Result(other)
        if not isinstance(other, Result):
            return NotImplemented
        return (self.category, dict(self.labels or {}), self.error) == (
            other.category, dict(other.labels or {}), other.error)

    def __repr__(self) -> str:
        if self.error is not None:
            return f"Result(error={self.error!r})"
        return f"Result({self.category!r}, {dict(self.labels or {})!r})"


Answer = Union[Result, str]
"""What a classifier returns for one record: a Result, or a category."""

# Tracebacks of rejected records logged per process, so that a bad input of
# millions of records does not flood the log: the messages still go to the
# host with every record.
_MAX_LOGGED_TRACEBACKS = 5
_logged_tracebacks = 0


def log_traceback(what: str, exc: BaseException) -> None:
    """Log exc's traceback to stderr, for the first few exceptions only."""
    global _logged_tracebacks
    if _logged_tracebacks >= _MAX_LOGGED_TRACEBACKS:
        return
    _logged_tracebacks += 1
    more = ""
    if _logged_tracebacks == _MAX_LOGGED_TRACEBACKS:
        more = " (further tracebacks are not logged; each record's error keeps its message)"
    log.error("%s%s", what, more, exc_info=exc)


class Classifier:
    """The base class of a Python classifier plugin.

    Subclass it, implement classify_record (one record) or classify (a
    batch), optionally init and shutdown, and call serve(YourClassifier)
    from the script's main block. One object serves one plugin process:
    init runs once, with the stage's ``plugin.config``, before any
    classify call; it is where state that cannot be pickled (locks, open
    files, compiled patterns, C-extension handles) is built. classify is
    never called concurrently, so that state needs no locking. To use more
    cores, the stage runs more instances (processes).

    Class attributes: name (defaults to the class name), version,
    accepts (the Kinds it classifies; empty means every kind: records of
    other kinds are rejected by the host without being sent), and config
    (the plugin.config it takes: a dataclass, or a dict of key
    declarations such as ``{"spec": {"type": str, "doc": "..."},
    "labels": {"type": bool, "default": True}}``; see
    sluice_plugin._config). With config declared, Describe sends its JSON
    Schema, so ``sluice validate`` checks a stage's config before the run
    (unknown keys, types, required keys) and ``sluice plugin describe``
    documents it; and serve checks the config the same way before init,
    which then receives a dataclass instance (or the dict with its
    defaults filled in). Without it, init gets the config as it is: check
    it with check_keys.

    Before init, serve sets stage (the stage's name), instance (this
    process's index, from 0) and instances (how many the stage runs).
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = ""
    accepts: ClassVar[Sequence[Kind]] = ()
    config: ClassVar[Any] = None

    stage: str = ""
    instance: int = 0
    instances: int = 1

    def init(self, config: Any) -> None:
        """Build the classifier's state from the stage's plugin.config.

        config is a dict (the JSON object the host sends), or, when the
        class declares config, the checked config with its defaults (an
        instance of that dataclass, or a dict).

        It is called once per process. An exception stops the run before
        any record is read; its message (see PluginError) is shown to the
        user, so make it say what is wrong and how to fix it.
        """

    def classify(self, batch: Sequence[Record]) -> Sequence[Answer]:
        """Answer a batch: exactly one Result (or str) per record, in order.

        The default calls classify_record for each record and turns an
        exception into that record's error. An exception raised from an
        override rejects every record of the batch with its message. sluice
        cuts and re-cuts batches as it likes (and bisects them after a
        crash), so answers must not depend on the batching.
        """
        out: list[Answer] = []
        append = out.append
        one = self.classify_record
        for r in batch:
            try:
                append(one(r))
            except Exception as exc:  # noqa: BLE001 - any error rejects the record
                log_traceback(f"classify_record failed for the record at {r.position or '?'}", exc)
                append(Result(error=describe_exception(exc)))
        return out

    def classify_record(self, record: Record) -> Answer:
        """Answer one record; raising an exception rejects that record."""
        raise NotImplementedError(f"{type(self).__name__} must implement classify_record or classify")

    def shutdown(self) -> None:
        """Release state (flush, close files) at the end of the run.

        It is called at most once, after the last classify call, but not
        when the plugin crashes or is killed: never rely on it for
        correctness.
        """


def plugin_name(c: Classifier) -> str:
    """Return the name a classifier gives itself."""
    return type(c).name or type(c).__name__


def validate(c: object) -> list[str]:
    """Return what is wrong with c as a classifier, or []."""
    if not isinstance(c, Classifier):
        return [f"{type(c).__name__} is not a sluice_plugin.Classifier: subclass it"]
    errs = []
    cls = type(c)
    if cls.config is not None:
        from ._config import config_schema  # late: _config imports this module
        try:
            config_schema(cls.config)
        except TypeError as exc:
            errs.append(str(exc))
    if cls.classify is Classifier.classify and cls.classify_record is Classifier.classify_record:
        errs.append(f"{cls.__name__} implements neither classify_record nor classify")
    for k in cls.accepts:
        if not isinstance(k, int) or int(k) not in _KINDS:
            errs.append(f"{cls.__name__}.accepts has an unknown kind {k!r}: use sluice_plugin.Kind")
    return errs


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the known key closest to word, or
    `` (known: a, b)``."""
    known = sorted(known)
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known: {', '.join(known) or 'none'})"


def check_keys(config: Mapping[str, Any], required: Iterable[str] = (), optional: Iterable[str] = ()) -> None:
    """Raise PluginError when config lacks a required key or has an unknown one.

    Call it at the start of init so that a typo in the pipeline file is
    reported rather than ignored: every key of config must be in required
    or optional, and every key of required must be there. optional lists
    the keys that may be left out (init then uses its own default, e.g.
    ``config.get("labels", True)``)::

        def init(self, config):
            check_keys(config, required=["spec"], optional=["labels"])

    The error names the first unknown key (with the closest known one:
    "did you mean") or else the first missing one, and carries it in
    PluginError.key, so that sluice shows it at that key's position in
    the pipeline file. Only top-level keys are checked.

    check_keys works at run time only. Declaring the keys in the
    Classifier's config class attribute instead (a dataclass or a dict
    with types, defaults and docs) does the same check before init and
    also lets ``sluice validate`` check the config before the run and
    ``sluice plugin describe`` print it; the messages are the same.
    """
    required, optional = list(required), list(optional)
    known = set(required) | set(optional)
    unknown = sorted(k for k in config if k not in known)
    missing = [k for k in required if k not in config]
    if unknown:
        k = unknown[0]
        more = f" (and {len(unknown) - 1} more unknown: {', '.join(repr(u) for u in unknown[1:])})" if len(unknown) > 1 else ""
        raise PluginError(f"config: unknown key {k!r}{did_you_mean(k, known)}{more}", key=k)
    if missing:
        raise PluginError(f"config: missing required key {missing[0]!r}", key=missing[0])
