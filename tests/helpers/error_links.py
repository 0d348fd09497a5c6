"""Whether a page's error messages are linked to their fields for screen readers (the scan
``tests/test_error_links.py`` and ``tests/test_case_page_errors.py`` use)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape

TAG_RE = re.compile(r"<(/?)(\w+)((?:\s+[\w:-]+(?:=\"[^\"]*\")?)*)\s*/?>")
ATTR_RE = re.compile(r"([\w:-]+)(?:=\"([^\"]*)\")?")
CONTROLS = {"input", "select", "textarea"}
SUMMARY_RE = re.compile(r'<div class="error-summary"[^>]*>(.*?)</div>', re.S)
SUMMARY_LINK_RE = re.compile(r'<a href="#([^"]+)">([^<]*)</a>')


@dataclass
class Tag:
    """An element's start tag, and the fieldsets it sits in."""

    name: str
    attrs: dict[str, str]
    fieldsets: list[Tag] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def described_by(self) -> set[str]:
        return set(self.attrs.get("aria-describedby", "").split())


def tags_of(html: str) -> list[Tag]:
    """The start tags of ``html`` in order, each knowing its enclosing fieldsets."""
    out: list[Tag] = []
    open_sets: list[Tag] = []
    for m in TAG_RE.finditer(html):
        closing, name, raw = m.group(1), m.group(2).lower(), m.group(3)
        if closing:
            if name == "fieldset" and open_sets:
                open_sets.pop()
            continue
        tag = Tag(name, {k: unescape(v or "") for k, v in ATTR_RE.findall(raw)}, list(open_sets))
        out.append(tag)
        if name == "fieldset":
            open_sets.append(tag)
    return out


def link_problems(html: str) -> tuple[int, list[str]]:
    """How many error messages ``html`` shows, and what is wrong with their links."""
    tags = tags_of(html)
    problems: list[str] = []
    ids = {t.attrs["id"] for t in tags if "id" in t.attrs}
    messages = [t for t in tags if "error-message" in t.classes]
    describers = [t for t in tags if t.name in CONTROLS | {"fieldset"} and t.described_by]
    for m in messages:
        if "id" not in m.attrs:
            if m.attrs.get("role") != "alert":
                problems.append("an error message with no id that is not announced (role=alert)")
            continue
        by = [t for t in describers if m.attrs["id"] in t.described_by]
        if not by:
            problems.append(f"#{m.attrs['id']}: no field names it in aria-describedby")
        for t in by:
            if t.name != "fieldset" and t.attrs.get("aria-invalid") != "true":
                problems.append(f"#{m.attrs['id']}: named by a {t.name} that is not aria-invalid")
            if t.name == "fieldset":
                choices = [c for c in tags if t in c.fieldsets and c.name == "input"]
                if not choices or any(c.attrs.get("aria-invalid") != "true" for c in choices):
                    problems.append(f"#{m.attrs['id']}: its group's choices are not aria-invalid")
    by_id = {t.attrs["id"]: t for t in tags if "id" in t.attrs}
    for summary in SUMMARY_RE.findall(html):
        for target, text in SUMMARY_LINK_RE.findall(summary):
            linked = by_id.get(target)
            if linked is None:
                problems.append(f"the error summary links to #{target}, not on the page")
            elif linked.attrs.get("aria-invalid") != "true":
                problems.append(f"the error summary links to #{target}, which is not invalid")
            if not text.strip():
                problems.append(f"the error summary's link to #{target} has no text")
    error_ids = {m.attrs["id"] for m in messages if "id" in m.attrs}
    for t in tags:
        if t.attrs.get("aria-invalid") != "true":
            continue
        own = t.described_by or {d for f in t.fieldsets for d in f.described_by}
        named = own & error_ids
        missing = own - ids
        if not named:
            problems.append(f"a {t.name} named {t.attrs.get('name')!r} is aria-invalid "
                            "but names no error message")
        if missing:
            problems.append(f"aria-describedby names ids not on the page: {sorted(missing)}")
    return len(messages), problems
