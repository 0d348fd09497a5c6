"""How the audit workspace names records it does not own, without importing their features.

Events name a record by its type and id; people know a case by its number. The audit package
sits below the features it audits (it never imports cases, referrals or safe spaces: a test
checks), so each feature registers here what it can tell about its own records:

- ``aliases``: text an auditor typed (a case number) -> the ids of the records it stands for;
- ``case_number``: (object_type, object_id) -> the case that record is, or belongs to.

Resolvers only read, and are called in the order they registered; one that knows nothing
returns None (or nothing). The features register when their ``audit_names`` module is imported,
which the app factory does (``app.create_app``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Resolver(Generic[P, R]):
    """A named question the audit workspace asks of whichever features can answer it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._resolvers: list[Callable[P, R | None]] = []

    def register(self, fn: Callable[P, R | None]) -> Callable[P, R | None]:
        """Decorator: ask ``fn`` too (once, however often it is registered)."""
        if fn not in self._resolvers:
            self._resolvers.append(fn)
        return fn

    def collect(self, *args: P.args, **kwargs: P.kwargs) -> list[R]:
        """Every resolver's answer, in registration order; None (knows nothing) left out."""
        return [found for fn in list(self._resolvers)
                if (found := fn(*args, **kwargs)) is not None]

    def first(self, *args: P.args, **kwargs: P.kwargs) -> R | None:
        """The first answer any resolver has, or None."""
        for fn in list(self._resolvers):
            if (found := fn(*args, **kwargs)) is not None:
                return found
        return None

    @property
    def resolvers(self) -> tuple[Callable[P, R | None], ...]:
        return tuple(self._resolvers)


@dataclass(frozen=True)
class CaseNumber:
    """The number and id of the case a record is or belongs to, and whether it was erased."""

    number: str
    case_id: str
    erased: bool = False


#: What typed text (a case number) also stands for: ``fn(text) -> iterable of ids``.
aliases: Resolver[[str], Iterable[str]] = Resolver("aliases")

#: The case a record is or belongs to: ``fn(object_type, object_id) -> CaseNumber | None``
#: (``object_id`` as the auditor gave it: any text; a resolver parses it itself).
case_number: Resolver[[str, str], CaseNumber] = Resolver("case_number")
