"""sluice_plugin: write sluice classifier plugins in Python.

A plugin is a script that sluice starts as a supervised subprocess (one per
instance), initialises once with the stage's ``plugin.config``, and then
streams batches of records over gRPC, exactly like a Go plugin built with
the Go sdk. Its state is built in ``init`` and lives as long as the process,
so it may hold anything: locks, open files, compiled patterns, handles of C
extensions, none of which could be pickled to a multiprocessing worker::

    import sluice_plugin  # first: it keeps stdout for the handshake
    from sluice_plugin import Classifier, Kind, Record, Result

    class Catalog(Classifier):
        name = "catalog"
        accepts = (Kind.XML,)

        def init(self, config):
            ...  # build state from config

        def classify_record(self, record: Record) -> Result:
            return Result("book", {"lang": "en"})

    if __name__ == "__main__":
        sluice_plugin.serve(Catalog)

and in the pipeline::

    plugin:
      command: [python3, path/to/plugin.py]
      env: {PYTHONPATH: path/to/sluice/sdk/python}
      config: {...}

Read XML records with ``XMLRecord(record.data)``: attributes and text
anywhere in the record by path (``rec.text("published/@place")``,
``rec.each("authors/author")``), with the Go sdk's path syntax; an
unsupported path is a PathError, not an empty answer.

``python3 -m sluice_plugin check plugin.py`` checks a classifier against the
plugin contract over real gRPC, as the Go sdk's sdktest.Conformance does.

Needs grpcio and protobuf (Debian: apt-get install python3-grpcio
python3-protobuf, for /usr/bin/python3).
"""

from __future__ import annotations

# Before anything else: move stdout out of the handshake's way.
from . import _stdio  # noqa: F401  isort:skip

try:
    import grpc  # noqa: F401
    import google.protobuf  # noqa: F401
except ImportError as _exc:  # pragma: no cover - depends on the machine
    raise ImportError(
        f"sluice_plugin needs grpcio and protobuf ({_exc}): on Debian or Ubuntu, "
        "apt-get install python3-grpcio python3-protobuf and run the plugin with /usr/bin/python3; "
        "in a virtualenv, pip install grpcio protobuf") from _exc

import logging as _logging

from ._api import Answer, Classifier, Kind, PluginError, Record, Result, check_keys, describe_exception
from ._config import config_schema
from ._serve import SDK_NAME, serve
from ._stdio import MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, PROTOCOL_VERSION
from ._xmlpath import PathError, XMLElement, XMLRecord

#: logger is the plugin's logger. serve sends its records to stderr as
#: "LEVEL plugin: message" lines, which sluice logs tagged with the plugin's
#: name and instance (INFO and above; set logger.setLevel to change that).
logger = _logging.getLogger("plugin")

__all__ = [
    "logger",
    "Answer",
    "Classifier",
    "Kind",
    "MAGIC_COOKIE_KEY",
    "MAGIC_COOKIE_VALUE",
    "PROTOCOL_VERSION",
    "PathError",
    "PluginError",
    "Record",
    "Result",
    "SDK_NAME",
    "XMLElement",
    "XMLRecord",
    "check_keys",
    "config_schema",
    "describe_exception",
    "serve",
]
