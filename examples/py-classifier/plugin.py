#!/usr/bin/env python3
"""A sluice classifier plugin in Python, for catalogue records (XML and CSV).

It classifies records the way sluice's reference job W1 does, with the
same spec as examples/go-classifier: the record's type ("unknown" when it
has none), then "/numbered" when its title holds an ASCII digit, else
"/plain"; and it labels each record with its language code (lang), the
language's name (language) and the topics its title mentions (topics).

Its state is built once per process in init, from spec.json, and none of it
could be pickled to a multiprocessing worker: a compiled regular expression
over the topic keywords, an open file read with os.pread, and a cache
guarded by a threading.Lock. sluice runs it as a command:

    plugin:
      command: [/usr/bin/python3, examples/py-classifier/plugin.py]
      env: {PYTHONPATH: sdk/python}
      config: {spec: examples/py-classifier/spec.json}
"""

import sluice_plugin  # first: it keeps stdout for the handshake

import json
import os
import re
import threading
import xml.etree.ElementTree as ET
from typing import Any, Callable, Optional

from sluice_plugin import Classifier, Kind, PluginError, Record, Result, check_keys

DIGIT = re.compile(r"[0-9]")


class Topics:
    """Finds the topics whose keywords occur in a text.

    One compiled pattern finds, at every position, the longest keyword that
    starts there; keywords that are prefixes of it match there too. That is
    every occurrence of every keyword, as a multi-pattern matcher finds them.
    """

    def __init__(self, keywords: dict[str, str]) -> None:
        words = sorted(keywords, key=len, reverse=True)
        self.pattern = re.compile("(?=(" + "|".join(re.escape(w) for w in words) + "))")
        self.topic = keywords
        self.prefixes = {w: [p for p in words if p != w and w.startswith(p)] for w in words}

    def find(self, text: str) -> list[str]:
        """Return the sorted topics of the keywords in text (lower case)."""
        found = set()
        for m in self.pattern.finditer(text):
            w = m.group(1)
            found.add(self.topic[w])
            for p in self.prefixes[w]:
                found.add(self.topic[p])
        return sorted(found)


class Table:
    """Looks values up in a key<TAB>value file that stays open.

    init indexes where each value is; a lookup reads just that value with
    os.pread, so the file may be far larger than memory. Recent answers are
    cached behind a lock.
    """

    def __init__(self, path: str, cache: int) -> None:
        self.fd = os.open(path, os.O_RDONLY)
        self.index: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()
        self.cache: dict[str, Optional[str]] = {}
        self.limit = max(cache, 1)
        off = 0
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                start, off = off, off + len(line)
                text = line.rstrip(b"\r\n")
                if not text.strip() or text.startswith(b"#"):
                    continue
                key, tab, value = text.partition(b"\t")
                if not tab:
                    raise PluginError(f"{path}:{n}: want key<TAB>value, got {text.decode()!r}")
                self.index[key.decode()] = (start + len(key) + 1, len(value))

    def lookup(self, key: str) -> Optional[str]:
        """Return key's value, or None when the table has none."""
        with self.lock:
            if key in self.cache:
                return self.cache[key]
        span = self.index.get(key)
        value = os.pread(self.fd, span[1], span[0]).decode() if span else None
        with self.lock:
            if len(self.cache) >= self.limit:
                self.cache.clear()
            self.cache[key] = value
        return value

    def close(self) -> None:
        os.close(self.fd)


class Catalog(Classifier):
    """W1 classification with private, unpicklable state built from a spec."""

    name = "py-catalog"
    version = "1.0.0"
    accepts = (Kind.XML, Kind.CSV)

    def init(self, config: dict[str, Any]) -> None:
        check_keys(config, required=["spec"], optional=["labels"])
        path = config["spec"]
        try:
            with open(path, encoding="utf-8") as f:
                spec = json.load(f)
        except OSError as exc:
            raise PluginError(f"reading the spec: {exc} (relative paths are taken from {os.getcwd()})") from exc
        self.spec = spec
        self.labels = config.get("labels", True)
        base = os.path.dirname(path)
        self.topics: Optional[Topics] = None
        self.langs: Optional[Table] = None
        if "topics" in spec and self.labels:
            keywords = {}
            with open(os.path.join(base, spec["topics"]["keywords"]), encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    word, tab, topic = line.partition("\t")
                    if not tab:
                        raise PluginError(f"{spec['topics']['keywords']}:{n}: want keyword<TAB>topic, got {line!r}")
                    keywords[word.lower()] = topic
            self.topics = Topics(keywords)
        if "languages" in spec and self.labels:
            lang = spec["languages"]
            self.langs = Table(os.path.join(base, lang["table"]), lang.get("cache", 1024))
        elems = {s["xml_element"] for s in (spec["type"], spec["title"], spec["lang"]) if s.get("xml_element")}
        self.elements = sorted(elems)

    def classify_record(self, record: Record) -> Result:
        get = self.reader(record)
        spec = self.spec
        title = get(spec["title"])
        category = get(spec["type"]) + (spec["numbered"] if DIGIT.search(title) else spec["plain"])
        if not self.labels:
            return Result(category)
        labels = {}
        lang = get(spec["lang"])
        if spec["lang"].get("label"):
            labels[spec["lang"]["label"]] = lang
        if self.langs is not None:
            name = self.langs.lookup(lang)
            if name is not None:
                labels[spec["languages"]["label"]] = name
        if self.topics is not None:
            topics = self.topics.find(title.lower())
            if topics:
                labels[spec["topics"]["label"]] = ",".join(topics)
        return Result(category, labels)

    def reader(self, record: Record) -> Callable[[dict], str]:
        """Return a function reading a spec source from record."""
        if record.kind == Kind.CSV:
            return lambda s: record.field(s.get("csv_field", "")) or s.get("missing", "")
        try:
            root = ET.fromstring(record.data)
        except ET.ParseError as exc:
            raise PluginError(f"malformed XML record at {record.position}: {exc}") from exc
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        texts = {}
        for e in self.elements:
            child = root.find(ns + e) if ns else root.find(e)
            if child is not None:
                texts[e] = "".join(child.itertext())

        def get(s: dict) -> str:
            if s.get("xml_attribute"):
                return root.attrib.get(s["xml_attribute"], s.get("missing", ""))
            return texts.get(s.get("xml_element", ""), s.get("missing", ""))

        return get

    def shutdown(self) -> None:
        if self.langs is not None:
            self.langs.close()


if __name__ == "__main__":
    sluice_plugin.serve(Catalog)
