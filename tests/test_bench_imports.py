"""The benchmarks are not run by ``make test``, so a renamed or removed app name would break
them unseen (``has_permission`` did, when the policy became ``can()``). Every name a benchmark
imports from ``app`` must exist."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _app_imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.module, alias.name) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
            and (node.module == "app" or node.module.startswith("app."))
            for alias in node.names]


# bench/load.py too (the load test: not ``bench_*`` so that ``make bench`` does not run it), and
# what the benchmarks share (measure.py).
@pytest.mark.parametrize("path", sorted([*BENCH.glob("bench_*.py"), BENCH / "load.py",
                                         BENCH / "measure.py"]),
                         ids=lambda p: p.name)
def test_every_name_a_benchmark_imports_from_the_app_exists(path):
    names = _app_imports(path)
    assert names, f"{path.name} imports nothing from the app"
    missing = []
    for module_name, name in names:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            continue
        try:
            importlib.import_module(f"{module_name}.{name}")
        except ModuleNotFoundError:
            missing.append(f"{module_name}.{name}")
    assert missing == [], f"{path.name} imports names the app no longer has"
