"""Conformance checks for a classifier, over real gRPC (like Go's sdktest).

``python3 -m sluice_plugin check plugin.py`` loads the script (without
running its main block), finds its Classifier subclass, serves it in process
on a unix socket exactly as serve does, and checks it against the contract
with one line per rule:

- describe: Describe gives a name and this sdk's protocol version;
- init: init succeeds with the given config;
- one result per record: every batch gets exactly one answer per record;
- empty batch: a batch without records is answered;
- deterministic: the same batch twice gets the same answers;
- batching does not matter: records one per batch, or in uneven batches,
  get the answers they get in one batch (sluice cuts and re-cuts batches,
  and bisects them after a crash);
- in flight: several batches sent before any answer are each answered once;
- shutdown: shutdown succeeds.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import queue
import shutil
import sys
import tempfile
import threading
from typing import Any, Iterator, Sequence

import grpc

from . import _stdio
from ._api import Classifier, Kind, Record, Result, plugin_name, validate
from ._proto import classifier_pb2 as pb
from ._proto import classifier_pb2_grpc as pb_grpc
from ._serve import _GRPC_OPTIONS, new_server


class CheckFailed(Exception):
    """A rule of the contract that the classifier breaks."""


def load_classifier(path: str, name: str | None = None) -> type[Classifier]:
    """Import the script at path and return its Classifier subclass.

    With name, the class of that name; otherwise the one subclass of
    Classifier the script defines.
    """
    spec = importlib.util.spec_from_file_location("sluice_plugin_checked", path)
    if spec is None or spec.loader is None:
        raise CheckFailed(f"cannot load {path}: not a Python file")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec.loader.exec_module(mod)
    found = [v for v in vars(mod).values()
             if isinstance(v, type) and issubclass(v, Classifier) and v is not Classifier
             and v.__module__ == mod.__name__]
    if name is not None:
        found = [c for c in found if c.__name__ == name]
    if len(found) != 1:
        names = ", ".join(c.__name__ for c in found) or "none"
        raise CheckFailed(f"{path} must define exactly one Classifier subclass (found: {names}); name one with --classifier")
    return found[0]


def generic_records(accepts: Sequence[Kind]) -> list[Record]:
    """A few records of each kind in accepts (every kind when empty)."""
    kinds = list(accepts) or list(Kind)
    out = []
    for k in kinds:
        for i in range(1, 4):
            if k == Kind.XML:
                out.append(Record.make(k, f'<record id="{i}" type="t{i}"><title>Title {i}</title></record>',
                                       file="sample.xml", ordinal=i, line=i + 1))
            elif k == Kind.CSV:
                out.append(Record.make(k, f"{i},t{i},Title {i}", header=["id", "type", "title"],
                                       fields=[str(i), f"t{i}", f"Title {i}"], file="sample.csv", line=i + 1, ordinal=i))
            elif k == Kind.LINE:
                out.append(Record.make(k, f"line {i}", file="sample.txt", line=i, ordinal=i))
            else:
                out.append(Record.make(k, json.dumps({"id": i, "title": f"Title {i}"}), file="sample.jsonl", line=i, ordinal=i))
    return out


def records_from_jsonl(path: str) -> list[Record]:
    """Read sample records, one JSON object a line.

    Keys: kind (xml, csv, line, json), data, and for CSV header and fields;
    optionally file, line, ordinal, offset, category, labels.
    """
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                v = json.loads(line)
                kind = Kind[v.pop("kind").upper()]
                out.append(Record.make(kind, v.pop("data"), **v))
            except (ValueError, KeyError, TypeError) as exc:
                raise CheckFailed(f"{path}:{n}: not a sample record ({exc})") from exc
    return out


def _request(seq: int, records: Sequence[Record]) -> Any:
    """Encode records as the host does: headers and files once per batch."""
    req = pb.ClassifyRequest(seq=seq)
    headers: dict[tuple[str, ...], int] = {}
    files: dict[str, int] = {}
    for r in records:
        m = req.records.add()
        m.CopyFrom(r._pb)
        m.header = m.file = 0
        if r.header is not None:
            idx = headers.get(r.header)
            if idx is None:
                req.headers.add(names=r.header)
                idx = headers[r.header] = len(req.headers)
            m.header = idx
        if r.file:
            idx = files.get(r.file)
            if idx is None:
                req.files.append(r.file)
                idx = files[r.file] = len(req.files)
            m.file = idx
    return req


def _results(resp: Any, n: int) -> list[Result]:
    if resp.error:
        return [Result(error=resp.error)] * n
    return [Result(error=r.error) if r.error else Result(r.category, dict(r.labels)) for r in resp.results]


class _Client:
    """Calls a classifier served in process over a unix socket."""

    def __init__(self, clf: Classifier) -> None:
        self._dir = tempfile.mkdtemp(prefix="sluice-check-")
        sock = "unix:" + os.path.join(self._dir, "plugin.sock")
        self.server = new_server(clf, lambda: None)
        self.server.add_insecure_port(sock)
        self.server.start()
        self.channel = grpc.insecure_channel(sock, options=_GRPC_OPTIONS)
        self.rpc = pb_grpc.ClassifierStub(self.channel)
        self.seq = 0

    def batches(self, batches: Sequence[Sequence[Record]]) -> list[list[Result]]:
        """Send every batch on one stream before reading any answer."""
        first = self.seq + 1
        self.seq += len(batches)
        reqs = [_request(first + i, b) for i, b in enumerate(batches)]
        answers: dict[int, Any] = {}
        for resp in self.rpc.Classify(iter(reqs), timeout=60):
            if resp.seq in answers:
                raise CheckFailed(f"batch {resp.seq} was answered twice")
            answers[resp.seq] = resp
        out = []
        for i, b in enumerate(batches):
            resp = answers.get(first + i)
            if resp is None:
                raise CheckFailed(f"batch {first + i} of {len(b)} records was never answered")
            if not resp.error and len(resp.results) != len(b):
                raise CheckFailed(f"a batch of {len(b)} records got {len(resp.results)} results")
            res = _results(resp, len(b))
            for r in res:
                if r.error and r.error.startswith("plugin bug: "):
                    raise CheckFailed(r.error)
            out.append(res)
        return out

    def close(self) -> None:
        self.channel.close()
        self.server.stop(0)
        shutil.rmtree(self._dir, ignore_errors=True)


def _compare(how: str, recs: Sequence[Record], want: Sequence[Result], got: Sequence[Result]) -> None:
    diffs = [f"  {r!r}: {w!r} in one batch, {g!r} {how}" for r, w, g in zip(recs, want, got) if w != g]
    if diffs:
        raise CheckFailed("answers depend on batching:\n" + "\n".join(diffs[:5]))


def check(classifier: type[Classifier] | Classifier, config: dict[str, Any] | None = None,
          records: Sequence[Record] | None = None, deterministic: bool = True,
          out: Any = None) -> bool:
    """Check classifier against the contract; print a line per rule to out.

    It returns True when every rule holds. records are sample records the
    classifier can classify (a few generic ones of each accepted kind
    otherwise); deterministic=False skips the rules that compare answers,
    for a classifier that is random on purpose.
    """
    out = out or sys.stdout
    clf = classifier() if isinstance(classifier, type) else classifier
    errs = validate(clf)
    if errs:
        print("FAIL valid classifier: " + "; ".join(errs), file=out)
        return False
    recs = list(records) if records else generic_records(type(clf).accepts)
    client = _Client(clf)
    ok = True
    whole: list[Result] = []

    def rule(name: str, fn: Any) -> bool:
        nonlocal ok
        try:
            fn()
        except (CheckFailed, grpc.RpcError) as exc:
            msg = exc.details() if isinstance(exc, grpc.RpcError) else str(exc)
            print(f"FAIL {name}: {msg}", file=out)
            ok = False
            return False
        print(f"ok   {name}", file=out)
        return True

    def describe() -> None:
        d = client.rpc.Describe(pb.DescribeRequest(protocol_version=_stdio.PROTOCOL_VERSION), timeout=30)
        if not d.name:
            raise CheckFailed("Describe gives no name: set the class's name")
        if d.protocol_version != _stdio.PROTOCOL_VERSION:
            raise CheckFailed(f"protocol version {d.protocol_version}, want {_stdio.PROTOCOL_VERSION}")

    def init() -> None:
        resp = client.rpc.Init(pb.InitRequest(config_json=json.dumps(config or {}).encode(), stage="check",
                                              instance=0, instances=1), timeout=60)
        if resp.error:
            raise CheckFailed(f"init: {resp.error}")

    def one_per_record() -> None:
        whole[:] = client.batches([recs])[0]
        if whole and all(r.error for r in whole):
            print(f"     note: every sample record was rejected (first: {whole[0].error}); "
                  "pass records it classifies with --records", file=out)

    def empty() -> None:
        client.batches([[]])

    def same_twice() -> None:
        _compare("the second time", recs, whole, client.batches([recs])[0])

    def batching() -> None:
        got = client.batches([[r] for r in recs])
        _compare("one record per batch", recs, whole, [g[0] for g in got])
        if len(recs) > 2:
            cut = len(recs) // 3
            a, b = client.batches([recs[:cut], recs[cut:]])
            _compare("in two uneven batches", recs, whole, a + b)

    def in_flight() -> None:
        got = client.batches([recs] * 8)
        if deterministic:
            for i, g in enumerate(got):
                _compare(f"in batch {i + 1} of 8 in flight", recs, whole, g)

    def shutdown() -> None:
        client.rpc.Shutdown(pb.ShutdownRequest(), timeout=30)

    try:
        print(f"checking {plugin_name(clf)} with {len(recs)} sample records", file=out)
        rule("describe", describe)
        if not rule("init", init):
            return False
        if rule("one result per record", one_per_record):
            rule("empty batch", empty)
            if deterministic:
                rule("deterministic", same_twice)
                rule("batching does not matter", batching)
            rule("in flight", in_flight)
        rule("shutdown", shutdown)
    finally:
        client.close()
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    """The command line of ``python3 -m sluice_plugin check``."""
    p = argparse.ArgumentParser(prog="python3 -m sluice_plugin check",
                                description="Check a classifier plugin script against the sluice plugin contract.")
    p.add_argument("script", help="the plugin script (its main block is not run)")
    p.add_argument("--classifier", help="the Classifier subclass to check, when the script has several")
    p.add_argument("--config", default="{}", help="plugin.config as a JSON object (default {})")
    p.add_argument("--records", help="sample records, one JSON object a line: "
                   '{"kind": "xml", "data": "<record/>"} or {"kind": "csv", "data": "...", "header": [...], "fields": [...]}')
    p.add_argument("--nondeterministic", action="store_true",
                   help="skip the rules that compare answers (for a classifier random on purpose)")
    args = p.parse_args(argv)
    try:
        config = json.loads(args.config)
        if not isinstance(config, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        print(f"--config: want a JSON object: {exc}", file=sys.stderr)
        return 2
    try:
        cls = load_classifier(args.script, args.classifier)
        recs = records_from_jsonl(args.records) if args.records else None
    except CheckFailed as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0 if check(cls, config, recs, deterministic=not args.nondeterministic) else 1
