"""Planner hints that keep a query on the right index where SQLite, which keeps no statistics
(Amana never runs ``ANALYZE``), would guess wrong.

``not_an_index(column)`` is the column itself on PostgreSQL (whose planner has statistics) and
``+column`` on SQLite, SQLite's documented way to say "do not drive this query by an index on
this column". It is used where a column that is indexed but barely selective (a case's site,
thousands of cases) sits beside one that is (a caseworker, a few hundred): without it SQLite
reads every case of the site and tests the worker on each
(https://sqlite.org/optoverview.html, "Disqualifying WHERE clause terms using unary-+").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class not_an_index(FunctionElement[Any]):  # noqa: N801  (reads as a SQL function)
    """``column`` as a value the planner must not look up through an index (SQLite)."""

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any]) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(not_an_index)
def _plain(element: not_an_index, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(not_an_index, "sqlite")
def _sqlite(element: not_an_index, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))
