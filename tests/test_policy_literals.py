"""Authorization is asked, never re-derived: no role decides anything outside the policy.

The rule this scan enforces, over ``app/**/*.py`` and ``app/templates/**/*.html``:

* Roles are *defined* and *branched on* in two places only: ``app/auth/policy.py`` (which
  permissions, places and label each role has) and the scope modules ``app/*/scopes.py`` (which
  records a role reaches). Everywhere else code asks ``can(user, Permission.X)`` (or, for SQL
  filters and a role that is not on an account yet, ``roles_with(...)`` and the policy's other
  functions).
* So outside those modules it fails on:
  - any ``Role.X`` member; the one exception is a *seed table* named in ``SEED_TABLES`` (the
    demo accounts of ``app/demo.py``): it assigns a role to an account, typed so a renamed role
    breaks at import, and nothing reads it to decide access (the seed asks the policy which
    places each role needs). ``Role("...")`` built from a literal fails too;
  - a comparison (``==``, ``!=``, ``is``, ``in``, ``not in``) with a string equal to a role's
    value, or with a literal tuple/list/set holding one;
  - a comparison of a role (``x.role`` or a variable named ``role``) with anything but another
    role (``spec.role != user.role`` asks "did the role change", not "what may this role do") or,
    for ``in``, a call into the policy (``role in roles_with(...)``);
  - SQL ``x.role.in_(...)``/``not_in(...)`` whose argument is not a call into the policy;
  - a table lookup keyed by a role (``TABLE[user.role]``, ``TABLE.get(user.role)``);
  - a dict, set, tuple or list literal whose strings are all role values (a role table).
* Templates never compare ``.role`` or a role's value at all; showing ``role_label(u.role)``
  is fine.

``app/dbroles.py`` is not scanned: its roles are PostgreSQL's (``OTHER_ROLES``). Strings are
only suspect where they meet a role: GBVIMS has a perpetrator code
``service_provider`` (``app/cases/gbvims.py``, ``app/cases/labels.py``) that is not a role and
sits in tables of other codes, so it passes.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from flask_login import AnonymousUserMixin

from app import ui
from app.auth import policy
from app.auth.policy import ROLE_LABELS, ROLE_PERMISSIONS, ROLE_PLACES, Permission, Role, can

ROOT = Path(__file__).resolve().parent.parent
ROLE_VALUES = frozenset(r.value for r in Role)
SEED_TABLES = {"app/demo.py": frozenset({"USERS"})}
# Modules whose "roles" are something else, with why (never an account's role).
OTHER_ROLES = {"app/dbroles.py": "PostgreSQL database roles (owner and runtime), not account roles"}
POLICY_FUNCTIONS = frozenset(
    name for name, obj in vars(policy).items()
    if inspect.isfunction(obj) and obj.__module__ == policy.__name__ and not name.startswith("_"))
COMPARE_OPS = (ast.Eq, ast.NotEq, ast.Is, ast.IsNot, ast.In, ast.NotIn)


def may_branch_on_roles(rel: str) -> bool:
    """Whether the module at ``rel`` (posix path from the repository root) defines role rules."""
    return rel == "app/auth/policy.py" or re.fullmatch(r"app/[a-z_]+/scopes\.py", rel) is not None


def _is_role_value(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ROLE_VALUES


def _holds_role_value(node: ast.AST) -> bool:
    return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(map(_is_role_value, node.elts))


def _is_role(node: ast.AST) -> bool:
    """``x.role`` or a variable named ``role``: an account's role."""
    return (isinstance(node, ast.Attribute) and node.attr == "role") or (
        isinstance(node, ast.Name) and node.id == "role")


def _is_policy_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in POLICY_FUNCTIONS


def _is_role_member(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Role"


def _is_lookup_by_role(node: ast.AST) -> bool:
    """``TABLE[user.role]`` or ``TABLE.get(user.role)``."""
    if isinstance(node, ast.Subscript):
        return _is_role(node.slice)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get" and bool(node.args) and _is_role(node.args[0]))


def _seed_lines(rel: str, tree: ast.Module) -> set[int]:
    """Lines of the module-level seed tables that may name ``Role`` members."""
    names = SEED_TABLES.get(rel, frozenset())
    lines: set[int] = set()
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else (
            [stmt.target] if isinstance(stmt, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id in names for t in targets):
            lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _compare_problem(node: ast.Compare) -> str | None:
    operands = [node.left, *node.comparators]
    if any(_is_role_value(o) or _holds_role_value(o) for o in operands):
        return "compares with a role's value"
    for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
        if not (_is_role(left) or _is_role(right)):
            continue
        if isinstance(op, (ast.In, ast.NotIn)):
            if not (_is_role(left) and _is_policy_call(right)):
                return "tests a role's membership outside the policy"
        elif not (_is_role(left) and _is_role(right)):
            return "compares a role with something other than another role"
    return None


def source_violations(rel: str, source: str) -> list[str]:
    """Each role decision in a Python module that may not make one, as ``path:line: what``."""
    if may_branch_on_roles(rel) or rel in OTHER_ROLES:
        return []
    tree = ast.parse(source, filename=rel)
    seeds = _seed_lines(rel, tree)
    found: list[str] = []

    def hit(node: ast.AST, what: str) -> None:
        found.append(f"{rel}:{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_role_member(node) and node.lineno not in seeds:
            hit(node, f"names Role.{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "Role" and node.args and _is_role_value(node.args[0]):
            hit(node, "builds a Role from a literal")
        elif isinstance(node, ast.Compare) and any(isinstance(op, COMPARE_OPS) for op in node.ops):
            if (problem := _compare_problem(node)) is not None:
                hit(node, problem)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in {"in_", "not_in", "notin_"} and _is_role(node.func.value) \
                and not all(_is_policy_call(a) for a in node.args):
            hit(node, "filters on roles not given by the policy")
        elif _is_lookup_by_role(node):
            hit(node, "looks a table up by role")
        elif isinstance(node, (ast.Dict, ast.Set, ast.Tuple, ast.List)):
            items = node.keys if isinstance(node, ast.Dict) else node.elts
            strings = [k for k in items if isinstance(k, ast.Constant) and isinstance(k.value, str)]
            if strings and all(map(_is_role_value, strings)):
                hit(node, "is a table of roles")
    return found


_JINJA = re.compile(r"\{%-?(.*?)-?%\}|\{\{-?(.*?)-?\}\}", re.S)
_ROLE_ATTR = re.compile(r"\.role\b(?!_)")
_COMPARISON = re.compile(r"==|!=|\bin\b|\bis\b")
_STRING = re.compile(r"'[^']*'|" + r'"[^"]*"')
_QUOTED_ROLE = re.compile(r"""['"]({})['"]""".format("|".join(sorted(ROLE_VALUES))))


def template_violations(rel: str, text: str) -> list[str]:
    """Each place a template compares a role (it should read ``can(...)`` or a boolean)."""
    found = []
    for m in _JINJA.finditer(text):
        expr = m.group(1) if m.group(1) is not None else m.group(2)
        bare = _STRING.sub("''", expr)  # "signed in as" is not a comparison
        if _COMPARISON.search(bare) and (_ROLE_ATTR.search(bare) or _QUOTED_ROLE.search(expr)):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{rel}:{line}: compares a role: {expr.strip()[:80]}")
    return found


def _all_violations(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "app").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        found += source_violations(rel, path.read_text(encoding="utf-8"))
    for path in sorted((root / "app" / "templates").rglob("*.html")):
        found += template_violations(path.relative_to(root).as_posix(), path.read_text(encoding="utf-8"))
    return found


def test_no_role_literal_outside_the_policy_and_the_scopes() -> None:
    found = _all_violations(ROOT)
    assert not found, ("Ask the policy (can(user, Permission.X), roles_with(...)) instead of "
                       "naming roles:\n" + "\n".join(found))


def test_the_scan_reads_the_modules_it_exempts() -> None:
    """The exemptions are the policy, the scope modules and the demo seed table, nothing else."""
    rels = {p.relative_to(ROOT).as_posix() for p in (ROOT / "app").rglob("*.py")}
    assert {r for r in rels if may_branch_on_roles(r)} == {
        "app/auth/policy.py", "app/cases/scopes.py", "app/programme/scopes.py",
        "app/safe_space/scopes.py", "app/reports/scopes.py"}
    assert set(SEED_TABLES) <= rels


@pytest.mark.parametrize("snippet", [
    "if user.role == 'supervisor':\n    pass\n",
    "if user.role != Role.SUPERVISOR:\n    pass\n",
    "ok = current_user.role in ('caseworker', 'supervisor')\n",
    "ok = role not in SOME_ROLES\n",
    "ok = 'admin' == kind\n",
    "stmt = select(User).where(User.role.not_in(NOT_FACILITATORS))\n",
    "LABELS = {'caseworker': 'C', 'supervisor': 'S'}\n",
    "x = HOURS[user.role]\n",
    "x = HOURS.get(user.role, 0)\n",
    "r = Role('admin')\n",
    "USERS = (('demo-admin', 'Demo', Role.ADMIN),)\n",  # a seed table only in app/demo.py
])
def test_the_scan_catches_role_decisions(snippet: str) -> None:
    assert source_violations("app/cases/views.py", snippet)


@pytest.mark.parametrize("snippet", [
    "ok = can(user, Permission.CASE_APPROVE)\n",
    "changed = spec.role != user.role\n",
    "stmt = select(User).where(User.role == role)\n",
    "admin = role in roles_with(Permission.ADMIN_USERS)\n",
    "stmt = select(User).where(User.role.in_(roles_with(Permission.ADMIN_USERS)))\n",
    "CODES = ('intimate_partner', 'service_provider', 'teacher')\n",  # GBVIMS, not roles
    "LABELS = {'service_provider': 'Service provider', 'schoolmate': 'Schoolmate'}\n",
    "if perpetrator == 'friend':\n    pass\n",
    "for r in Role:\n    pass\n",
])
def test_the_scan_lets_questions_to_the_policy_pass(snippet: str) -> None:
    assert not source_violations("app/cases/views.py", snippet)


def test_the_seed_table_and_the_scopes_may_name_roles() -> None:
    assert not source_violations("app/demo.py", "USERS = (('demo-admin', 'Demo', Role.ADMIN),)\n")
    assert source_violations("app/demo.py", "if role == Role.ADMIN:\n    pass\n")
    assert not source_violations("app/cases/scopes.py", "if user.role == Role.CASEWORKER:\n    pass\n")


@pytest.mark.parametrize(("text", "bad"), [
    ("{% if current_user.role == 'supervisor' %}x{% endif %}", True),
    ("{% if user.role in ['caseworker', 'supervisor'] %}x{% endif %}", True),
    ("{{ 'yes' if u.role != 'admin' else 'no' }}", True),
    ("{%- if 'auditor' == current_user.role -%}x{% endif %}", True),
    ("{{ role_label(u.role) }}", False),
    ("""{{ _("You are signed in as %(role)s", role=role_label(user.role)) }}""", False),
    ("{% if can(Permission.CASE_APPROVE) %}x{% endif %}", False),
    ("{{ field(form.role) }}", False),
    ("{% for u in users %}{{ role_label(u.role) }}{% endfor %}", False),
])
def test_the_template_scan(text: str, bad: bool) -> None:
    assert bool(template_violations("app/templates/x.html", text)) is bad


# --- can() is the table, exactly -----------------------------------------------------------

@pytest.mark.parametrize("role", list(Role))
def test_can_answers_as_the_table_says(role: Role) -> None:
    for user in (SimpleNamespace(role=role), SimpleNamespace(role=role.value)):
        for permission in Permission:
            assert can(user, permission) is (permission in ROLE_PERMISSIONS[role]), (role, permission)


@pytest.mark.parametrize("user", [
    None,
    AnonymousUserMixin(),
    SimpleNamespace(role="superuser"),
    SimpleNamespace(role=""),
    SimpleNamespace(role=None),
    SimpleNamespace(),
    SimpleNamespace(role="admin", is_authenticated=False),
])
def test_can_refuses_anyone_without_a_known_role(user: object) -> None:
    assert not any(can(user, p) for p in Permission)


def test_every_role_has_a_row_in_each_table() -> None:
    """A new role must say what it may do, which places it needs and what it is called."""
    assert set(ROLE_PERMISSIONS) == set(ROLE_PLACES) == set(ROLE_LABELS) == set(Role)


def test_the_template_can_is_the_policys(app: Flask) -> None:
    """The Jinja global ``can(permission)`` answers for the signed-in user through the policy;
    with nobody signed in it answers no."""
    with app.test_request_context("/"):
        global_can = app.jinja_env.globals["can"]
        assert global_can is ui.can
        assert not any(ui.can(p) for p in Permission)
