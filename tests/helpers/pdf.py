"""The text of each page of a PDF that Chromium printed (``page.pdf()``), without a PDF library.

Enough of the format for Chromium's (Skia's) output: objects whose streams are Flate-compressed,
pages with a ``/Contents`` stream and ``/Font`` resources, Type0 fonts with a ``/ToUnicode``
CMap, text shown with ``Tj``/``TJ`` as hex glyph codes. Only for tests.
"""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number -> (dictionary text, decoded stream or None)."""
    found: dict[int, tuple[bytes, bytes | None]] = {}
    for number, body in _OBJ.findall(data):
        stream = _STREAM.search(body)
        head = body[:stream.start()] if stream else body
        raw = None
        if stream:
            raw = stream.group(1)
            if b"/FlateDecode" in head:
                try:
                    raw = zlib.decompress(raw)
                except zlib.error:
                    raw = zlib.decompressobj().decompress(raw)
        found[int(number)] = (head, raw)
    return found


def _cmap(text: bytes) -> dict[int, str]:
    """Glyph code -> text, from a ToUnicode CMap (bfchar and bfrange)."""
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be", "replace")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>",
                                      block):
            start = int.from_bytes(bytes.fromhex(dst.decode()), "big")
            for k, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(start + k)
    return out


def _ref(head: bytes, key: bytes) -> int | None:
    found = re.search(rb"/" + key + rb"\s+(\d+) 0 R", head)
    return int(found.group(1)) if found else None


def _fonts(objects: dict[int, tuple[bytes, bytes | None]], page: bytes) -> dict[bytes, dict[int, str]]:
    """Font resource name -> its glyph map, for one page."""
    resources = page
    ref = _ref(page, b"Resources")
    if ref is not None:
        resources = objects[ref][0]
    fonts_part = re.search(rb"/Font\s*(<<.*?>>|\d+ 0 R)", resources, re.S)
    if not fonts_part:
        return {}
    text = fonts_part.group(1)
    if text.endswith(b"R"):
        text = objects[int(text.split()[0])][0]
    out = {}
    for name, number in re.findall(rb"/([A-Za-z0-9_.]+)\s+(\d+) 0 R", text):
        head = objects[int(number)][0]
        cmap_ref = _ref(head, b"ToUnicode")
        stream = objects[cmap_ref][1] if cmap_ref is not None else None
        out[name] = _cmap(stream or b"")
    return out


def page_texts(data: bytes) -> list[str]:
    """The text shown on each page, in order (glyphs joined, no layout)."""
    objects = _objects(data)
    texts = []
    for head, _stream in objects.values():
        if not re.search(rb"/Type\s*/Page\b", head):
            continue
        fonts = _fonts(objects, head)
        contents = re.search(rb"/Contents\s+(\d+) 0 R", head)
        stream = objects[int(contents.group(1))][1] if contents else b""
        shown, glyphs = [], fonts.get(b"", {})
        for token in re.finditer(rb"/([A-Za-z0-9_.]+)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj",
                                 stream or b"", re.S):
            if token.group(1):
                glyphs = fonts.get(token.group(1), {})
                continue
            hexes = re.findall(rb"<([0-9A-Fa-f]*)>", token.group(2)) if token.group(2) is not None \
                else [token.group(3)]
            for h in hexes:
                raw = bytes.fromhex(h.decode())
                width = 2 if len(raw) % 2 == 0 else 1
                for i in range(0, len(raw), width):
                    shown.append(glyphs.get(int.from_bytes(raw[i:i + width], "big"), ""))
        texts.append("".join(shown))
    return texts
