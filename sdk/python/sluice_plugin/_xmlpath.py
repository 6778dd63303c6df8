"""XMLRecord: read an XML record's attributes and text by path.

The path syntax is the Go sdk's (sdk.XMLReader), relative to the element
read (the record's root for XMLRecord)::

    title               the first <title> child
    authors/author      the first <author> child of an <authors> child
    */note              "*" is any element
    . or ""             the element itself (all the text of the record)
    @type               an attribute of the element itself
    published/@place    the attribute of the first <published> that has one
    @xml:lang           names are "local", "prefix:local", "{uri}local"

An unprefixed element name is in the root's default namespace, as it would
be if written in the record; an unprefixed attribute name is in no
namespace. A prefix is resolved with the declarations on the record's root
("xml" is always bound); one the record does not declare matches nothing.
"{uri}local" names a namespace directly, "{}local" no namespace.

Anything else is a PathError (a ValueError), never a match of nothing:
"//" (any depth), "..", predicates ("author[2]"), functions ("text()"),
"@*", a leading or trailing "/", "@" before the last step, a name that is
not an XML name. Iterate with each() instead of predicates.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from typing import Any, Iterator, Optional, Union

NAMESPACE_XML = "http://www.w3.org/XML/1998/namespace"

PATH_SYNTAX = ('a path is element names separated by "/" from the element read ("authors/author"), '
               '"*" for any element, "." (or "") for the element itself, '
               'optionally ending in "@name" for an attribute ("published/@place", "@xml:lang")')

_START = ("A-Z_a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
          "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
_NCNAME = re.compile(f"[{_START}][{_START}\\-.0-9\u00b7\u0300-\u036f\u203f-\u2040]*")


class PathError(ValueError):
    """A path that the syntax does not support."""

    def __init__(self, path: str, msg: str) -> None:
        super().__init__(f"xml path {_quote(path)}: {msg}; {PATH_SYNTAX}")
        self.path = path


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_name(path: str, name: str) -> None:
    s = name
    if name.startswith("{"):
        end = name.find("}")
        if end < 0:
            raise PathError(path, f"{_quote(s)}: missing }} after the namespace URI")
        name = name[end + 1:]
    prefix, colon, local = name.partition(":")
    if colon:
        ok = bool(_NCNAME.fullmatch(prefix)) and bool(_NCNAME.fullmatch(local))
    else:
        ok = bool(_NCNAME.fullmatch(name))
    if not ok:
        raise PathError(path, f"{_quote(s)} is not an XML name")


def _split_steps(path: str) -> list[str]:
    """Split at "/", except inside a "{uri}" at the start of a step."""
    steps, rest = [], path
    while True:
        start = 1 if rest.startswith("@{") else 0
        skip = start
        if rest[start:start + 1] == "{":
            end = rest.find("}", start)
            if end > 0:
                skip = end
        i = rest.find("/", skip)
        if i < 0:
            steps.append(rest)
            return steps
        steps.append(rest[:i])
        rest = rest[i + 1:]


def _check_step(path: str, s: str, first: bool, last: bool) -> None:
    if s == "" and first:
        raise PathError(path, 'a leading "/" (absolute path) is not supported')
    if s == "" and not last:
        raise PathError(path, '"//" (any depth) is not supported')
    if s == "":
        raise PathError(path, 'a trailing "/" is not supported')
    if s == ".":
        raise PathError(path, '"." is supported only as the whole path')
    if s == "..":
        raise PathError(path, '".." (parent) is not supported')
    if "::" in s:
        raise PathError(path, "axes (child::, descendant::) are not supported")
    if "[" in s or "]" in s:
        raise PathError(path, "predicates ([...]) are not supported")
    if "(" in s or ")" in s:
        raise PathError(path, "functions (text(), node()) are not supported")
    if s[0] == "@" and not last:
        raise PathError(path, 'an attribute ("@name") can only be the last step')
    if s == "@*":
        raise PathError(path, '"@*" (any attribute) is not supported')
    if s != "*":
        _check_name(path, s[1:] if s[0] == "@" else s)


# A resolved name: "*" for any element, None for one that matches nothing,
# else ElementTree's key ("{uri}local", or "local" in no namespace).
_Key = Optional[str]


class _Scope:
    def __init__(self, decls: dict[str, str]) -> None:
        self.decls = decls

    def key(self, q: str, attr: bool) -> _Key:
        if q == "*":
            return "*"
        if q.startswith("{"):
            end = q.index("}")
            uri, local = q[1:end], q[end + 1:]
        elif ":" in q:
            prefix, _, local = q.partition(":")
            if prefix == "xml":
                uri = NAMESPACE_XML
            elif prefix in self.decls:
                uri = self.decls[prefix]
            else:
                return None
        else:
            uri, local = ("" if attr else self.decls.get("", "")), q
        return f"{{{uri}}}{local}" if uri else local


class _Path:
    __slots__ = ("steps", "attr", "is_attr")

    def __init__(self, path: str, scope: _Scope) -> None:
        self.steps: list[_Key] = []
        self.attr: _Key = None
        self.is_attr = False
        if path in ("", "."):
            return
        parts = _split_steps(path)
        for i, s in enumerate(parts):
            _check_step(path, s, i == 0, i == len(parts) - 1)
            if s[0] == "@":
                self.attr, self.is_attr = scope.key(s[1:], True), True
            else:
                self.steps.append(scope.key(s, False))


def _matches(el: ET.Element, steps: list[_Key]) -> Iterator[ET.Element]:
    """The elements below el that steps match, in document order."""
    if not steps:
        yield el
        return
    key = steps[0]
    if key is None:
        return
    for child in el:
        if key == "*" or child.tag == key:
            yield from _matches(child, steps[1:])


class XMLElement:
    """One element of a record: read its attributes and the text below it
    with paths relative to it."""

    __slots__ = ("_el", "_scope")

    def __init__(self, el: ET.Element, scope: _Scope) -> None:
        self._el = el
        self._scope = scope

    @property
    def name(self) -> str:
        """The element's name: "{uri}local", or "local" in no namespace."""
        return self._el.tag

    def attr(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The value of the element's attribute called name ("type",
        "xml:lang", "{uri}local"), or default. A path is a PathError: use
        text("a/@b")."""
        local = name[name.find("}") + 1:] if name.startswith("{") else name
        if "@" in local or "/" in local:
            raise PathError(name, 'an attribute name is "name", "prefix:name" or "{uri}name", '
                                  'not a path (read paths with text)')
        _check_name(name, name)
        key = self._scope.key(name, True)
        if key is None:
            return default
        return self._el.attrib.get(key, default)

    def text(self, path: str = ".", default: Optional[str] = None) -> Optional[str]:
        """What path names below the element: the text of the first element
        it matches (its descendants' text included, CDATA as text, comments
        left out), or an attribute's value; default when there is none."""
        p = _Path(path, self._scope)
        for el in _matches(self._el, p.steps):
            if not p.is_attr:
                return "".join(el.itertext())
            if p.attr is not None and p.attr in el.attrib:
                return el.attrib[p.attr]
        return default

    def each(self, path: str) -> Iterator["XMLElement"]:
        """The elements path matches below the element, in document order.
        A path ending in an attribute is a PathError."""
        p = _Path(path, self._scope)
        if p.is_attr:
            raise PathError(path, "each() iterates over elements, and the path names an attribute "
                                  "(read it with text)")
        return (XMLElement(el, self._scope) for el in _matches(self._el, p.steps))


class XMLRecord(XMLElement):
    """An XML record (Record.data of a Kind.XML record), read by path::

        rec = XMLRecord(record.data)
        rec.attr("type")                  # the root's attribute
        rec.text("title")                 # the first <title>'s text
        rec.text("published/@place")      # an attribute further down
        for author in rec.each("authors/author"):
            author.attr("id"), author.text()

    The record is parsed whole, by Python's expat (xml.etree): a malformed
    record is a ValueError (ET.ParseError) here. Names are resolved to
    namespaces, references decoded, CDATA is text and comments are not, as
    in sluice's own stages and the Go sdk's XMLReader.
    """

    __slots__ = ()

    def __init__(self, data: Union[bytes, str, Any]) -> None:
        if hasattr(data, "data") and not isinstance(data, (bytes, str)):
            data = data.data  # a Record
        if isinstance(data, str):
            data = data.encode()
        decls: dict[str, str] = {}
        root = None
        parser = ET.XMLPullParser(events=("start-ns", "start"))
        parser.feed(data)
        for event, value in parser.read_events():
            if event == "start-ns" and root is None:
                prefix, uri = value
                decls.setdefault(prefix, uri)
            elif event == "start" and root is None:
                root = value
        parser.close()
        for event, value in parser.read_events():
            if event == "start" and root is None:
                root = value
        if root is None:
            raise ET.ParseError("no element in the record")
        super().__init__(root, _Scope(decls))
