"""The style sheet and the templates agree: every class a template uses is styled (or is listed
below as a purely semantic name), no selector is written twice, and every colour is a variable
of the ``:root`` block, so a palette change is made in one place.

A class attribute may mix text and Jinja: its static words are read as classes (also those
between ``{% if %}`` tags), the string literals a ``{{ 'a' if x else 'b' }}`` part chooses from
too, and the parts that are a variable (``flash-{{ category }}``, ``{{ cls }}``) must be named
in ``DYNAMIC`` with where their values come from. Classes the templates do not use are not
checked (a class may be set by Python, e.g. a WTForms ``render_kw``)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from jinja2 import Environment, nodes

from app.audit.actions import Outcome

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "app" / "templates"
STATIC = ROOT / "app" / "static"

# Classes that only name what an element is (for people reading the markup, and for tests
# and scripts that find it); they are meant to look like their plain base class.
SEMANTIC = {
    "audit-outcome": "names the outcome badge; the look is .badge",
    "audit-outcome-allowed": "an allowed event's badge is the plain .badge",
    "audit-result": "names the verification result panel; the look is -ok/-broken",
    "figure-withheld": "names a withheld cell's mark (×) in the safe-space figures; plain text",
    "field-status": "names the offline field intake's status panel; the look is .panel",
    "field-check": "names a single-checkbox field (macros/forms.html); the look is .choice",
    "flash-info": "the default look of .flash",
    "narrative": "names the incident narrative paragraph of the case page",
    "wgss-bands": "names the age-band table of a session; the look is .table",
    "wgss-figures-filter": "names the safe-space figures' filter; the look is .filters",
    "wgss-month": "names the month picker; the look is .filters",
    "wgss-notes": "names the notes panel of a session; the look is .panel",
}


def _flash_categories() -> set[str]:
    """The categories of every ``flash()`` in app/ (``message`` when none is given)."""
    found: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "flash":
                args = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "category")]
                if not args:
                    found.add("message")
                for arg in args:
                    assert isinstance(arg, ast.Constant), f"{path}: a flash category must be a literal"
                    found.add(str(arg.value))
    return found


def _literals(path: Path, pattern: str) -> set[str]:
    return set(re.findall(pattern, path.read_text(encoding="utf-8")))


# (template, the variable part as written) -> the classes it can produce.
DYNAMIC: dict[tuple[str, str], Callable[[], set[str]]] = {
    ("base.html", "flash-{{ category }}"): lambda: {f"flash-{c}" for c in _flash_categories()},
    ("audit/_events.html", "audit-outcome-{{ outcome }}"):
        lambda: {f"audit-outcome-{o.value}" for o in Outcome},
    # The action buttons of the account page: the list of (op, label, class) in the template.
    ("admin/user_form.html", "{{ cls }}"):
        lambda: _literals(TEMPLATES / "admin/user_form.html", r"'(button-[a-z-]+)'"),
    # The legend squares of the summary chart: app/safe_space/summary.py names their classes.
    ("safe_space/summary.html", "{{ cls }}"):
        lambda: _literals(ROOT / "app/safe_space/summary.py", r'"(chart-[a-z-]+)"'),
    # The figures' charts: app/safe_space/figure_charts.py names the bars' and legend's classes.
    ("safe_space/figures.html", "{{ cls }}"):
        lambda: _literals(ROOT / "app/safe_space/figure_charts.py", r'"(chart-[a-z-]+)"'),
    ("safe_space/figures.html", "{{ b.cls }}"):
        lambda: _literals(ROOT / "app/safe_space/figure_charts.py", r'"(chart-[a-z-]+)"'),
}

_ATTR = re.compile(r"""\bclass=(?:"([^"]*)"|'([^']*)')""")
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_NAME = re.compile(r"-?[A-Za-z_][\w-]*\Z")


def _choices(part: str) -> set[str] | None:
    """The classes of a ``{{ 'a' if x else 'b' }}`` part (string literals chosen by a condition),
    or None for a part with a variable value."""
    if not (part.startswith("{{") and part.endswith("}}")):
        return None
    out = Environment().parse(part).body[0]
    assert isinstance(out, nodes.Output)

    def results(node: nodes.Node) -> set[str] | None:
        if isinstance(node, nodes.Const) and isinstance(node.value, str):
            return set(node.value.split())
        if isinstance(node, nodes.CondExpr) and node.expr2 is not None:
            one, two = results(node.expr1), results(node.expr2)
            return None if one is None or two is None else one | two
        return None
    return results(out.nodes[0])


def used_classes() -> dict[str, set[str]]:
    """Every class the templates use -> the templates using it."""
    used: dict[str, set[str]] = {}
    unexplained: list[str] = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        for m in _ATTR.finditer(path.read_text(encoding="utf-8")):
            value = m.group(1) if m.group(1) is not None else m.group(2)
            classes: set[str] = set()
            for g in re.findall(r"[\w-]*\{\{[^}]*\}\}[\w-]*", value):
                if (name, g) in DYNAMIC:
                    classes.update(DYNAMIC[(name, g)]())
                elif (choices := _choices(g)) is not None:
                    classes.update(choices)
                else:
                    unexplained.append(f"{name}: {g}")
            static = _JINJA.sub(" ", re.sub(r"[\w-]*\{\{[^}]*\}\}[\w-]*", " ", value))
            classes.update(static.split())
            for c in classes:
                assert _NAME.match(c), f"{name}: odd class {c!r}"
                used.setdefault(c, set()).add(name)
    assert not unexplained, ("class attributes with a variable part; say in DYNAMIC where its "
                             f"values come from: {unexplained}")
    return used


_MEDIA = re.compile(r"@media\s*(\([^{]*\))\s*\{((?:[^{}]*\{[^{}]*\})*)\s*\}")


def _css_rules() -> list[tuple[str, str, str]]:
    """(file, selector list, declarations) of every rule of the style sheets."""
    rules = []
    for path in sorted(STATIC.rglob("*.css")):
        text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
        # A media query's rules count under their condition (``@media (...) .table``).
        for condition, inner in _MEDIA.findall(text):
            for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", inner):
                rules.append((path.name, f"@media {' '.join(condition.split())} "
                              f"{' '.join(selectors.split())}", body))
        text = _MEDIA.sub("", text)
        assert "@" not in text, "an at-rule: teach this test to read it"
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
            rules.append((path.name, " ".join(selectors.split()), body))
    return rules


def defined_classes() -> set[str]:
    return {c for _f, selectors, _b in _css_rules() for c in re.findall(r"\.([A-Za-z_][\w-]*)", selectors)}


def test_every_used_class_is_styled_or_semantic():
    used = used_classes()
    assert {"button", "flash-error", "audit-outcome-denied", "chart-girls", "button-danger",
            "audit-result-ok"} <= set(used), "the collector misses classes"
    missing = {c: sorted(t) for c, t in used.items()
               if c not in defined_classes() and c not in SEMANTIC}
    assert not missing, f"classes used in templates but not in the CSS: {missing}"
    styled_semantic = SEMANTIC.keys() & defined_classes()
    assert not styled_semantic, f"styled now; remove from SEMANTIC: {styled_semantic}"
    stale = SEMANTIC.keys() - set(used)
    assert not stale, f"no template uses these any more; remove from SEMANTIC: {stale}"


def test_no_selector_is_written_twice():
    """A selector (or selector list) has one rule. A selector may also be part of a group that
    shares declarations (``.field input, .field textarea``) and have its own rule besides."""
    lists = Counter(tuple(s.strip() for s in sel.split(",")) for _f, sel, _b in _css_rules())
    twice = sorted(", ".join(s) for s, n in lists.items() if n > 1)
    assert not twice, f"selectors defined in more than one rule (merge them): {twice}"


# Properties whose value may name a colour; every word of theirs must be one of these keywords
# (or a length, a number, or var()).
_COLOUR_PROPERTIES = re.compile(r"(?:^|-)(?:color|background|border|outline|fill|stroke|shadow)"
                                r"(?:-|$)")
_NOT_COLOURS = {"none", "solid", "dashed", "dotted", "double", "transparent", "currentcolor",
                "inherit", "initial", "unset", "auto", "inset", "collapse", "separate"}


def test_colours_come_from_variables():
    problems = []
    rules = _css_rules()
    roots = [r for r in rules if r[1] == ":root"]
    assert len(roots) == 1, "one :root block holds the palette"
    for file, selectors, body in rules:
        for decl in filter(None, (d.strip() for d in body.split(";"))):
            prop, _sep, value = (x.strip() for x in decl.partition(":"))
            if selectors == ":root" and prop.startswith("--"):
                continue  # the palette itself
            if re.search(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\(",
                         value):
                problems.append(f"{file}: {selectors} {{ {decl} }}")
                continue
            if _COLOUR_PROPERTIES.search(prop.lower()):
                words = re.sub(r"var\([^)]*\)", " ", value).split()
                odd = [w for w in words if w.lower() not in _NOT_COLOURS
                       and not re.fullmatch(r"-?[\d.]+[a-z%]*", w)]
                if odd:
                    problems.append(f"{file}: {selectors} {{ {decl} }}")
    assert not problems, f"colour literals outside the :root palette: {problems}"


def test_palette_variables_are_defined_and_used():
    rules = _css_rules()
    root = next(b for _f, s, b in rules if s == ":root")
    defined = set(re.findall(r"(--[\w-]+)\s*:", root))
    used = {v for _f, _s, b in rules for v in re.findall(r"var\((--[\w-]+)", b)}
    assert not used - defined, f"variables used but not defined: {used - defined}"
    assert not defined - used, f"variables defined but not used: {defined - used}"
