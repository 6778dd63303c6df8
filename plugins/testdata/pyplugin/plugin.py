"""The Python plugin the plugins and cmd/sluice tests run.

Its behaviour before the handshake is chosen with the PYPLUGIN_MODE
environment variable; after it, with its init config and its records:

- data containing POISON kills the process (os.abort);
- data containing REJECT raises ZeroDivisionError in classify_record;
- data containing HANG blocks forever;
- any other record gets the category prefix + data.upper() and labels
  describing what arrived (kind, position, CSV fields, sdk).
"""

import sluice_plugin  # first: it keeps stdout for the handshake

import multiprocessing
import os
import sys
import threading
import time

from sluice_plugin import Classifier, Record, Result, check_keys

MODE = os.environ.get("PYPLUGIN_MODE", "")
if MODE == "chatty":
    # At import time, through every route to stdout: none may reach the
    # handshake.
    print("pyplugin: hello through print", flush=True)
    sys.stdout.write("pyplugin: hello through sys.stdout\n")
    os.write(1, b"pyplugin: hello through file descriptor 1\n")
elif MODE == "exit":
    sys.stderr.write("pyplugin: missing license file\n")
    sys.exit(3)


class TestPlugin(Classifier):
    name = "pyplugin"
    version = "0.0.1"

    def init(self, config):
        check_keys(config, optional=["prefix", "fail_init", "sleep", "trivial", "pool", "exit_init"])
        if "fail_init" in config:
            raise ValueError(config["fail_init"])
        if "exit_init" in config:
            sys.stderr.write("pyplugin: giving up in init\n")
            sys.exit(config["exit_init"])
        self.prefix = config.get("prefix", "")
        self.sleep = float(config.get("sleep", 0))
        self.trivial = bool(config.get("trivial", False))  # one category, no labels: for benchmarks
        self.lock = threading.Lock()  # unpicklable state, built once
        if config.get("pool"):
            # Worker processes, as a plugin that classifies in parallel
            # starts them, each busy with a long task (an idle worker exits
            # when its parent dies; a busy one does not): they must not
            # outlive sluice.
            n = int(config["pool"])
            self.pool = multiprocessing.Pool(n)
            self.pool.map(abs, range(n))
            self.busy = [self.pool.apply_async(time.sleep, (777,)) for _ in range(n)]
        sys.stderr.write(f"pyplugin: instance {self.instance} of {self.instances} ready for stage {self.stage}\n")

    def classify(self, batch):
        if self.trivial:
            return ["t"] * len(batch)
        if self.sleep:
            time.sleep(self.sleep)
        return super().classify(batch)

    def classify_record(self, record: Record) -> Result:
        data = record.text
        if "POISON" in data:
            os.abort()
        if "HANG" in data:
            threading.Event().wait()
        if "REJECT" in data:
            return 1 // 0
        labels = {"kind": record.kind.name.lower(), "file": record.file, "line": str(record.line),
                  "ordinal": str(record.ordinal), "offset": str(record.offset)}
        if record.header is not None:
            labels["header"] = ",".join(record.header)
            labels["name"] = record.field("name", "?")
        if record.category:
            labels["old_category"] = record.category
        with self.lock:
            return Result(self.prefix + data.upper(), labels)

    def shutdown(self):
        sys.stderr.write("pyplugin: shutdown called\n")


if __name__ == "__main__":
    sluice_plugin.serve(TestPlugin)
