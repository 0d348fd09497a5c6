"""The vocabulary of small-cell suppression's proofs (``app.reports.suppression``): a move
is a product of one small vector per dimension, each a *single* leaf or a *pair* of leaves;
``Move`` is the certificate one withheld cell is covered by."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.reports.grid import Dim, Key

Vector = dict[str, int]          # node -> +1 / -1 (the sum of a move's leaves under the node)
PARTNERS = 2                     # partners tried per dimension for each withheld cell


@dataclass(frozen=True)
class Move:
    """A certificate: the cells a move changes (+1 / -1) and how far it can go each way."""

    changes: dict[Key, int]
    down: float          # a: the move may be taken back this far...
    up: float            # ...and forward this far (infinite when nothing limits it)

    @property
    def width(self) -> float:
        return self.down + self.up


@dataclass(frozen=True)
class Option:
    """One dimension's part of a move: its vector, the leaf it adds to and (a pair) the leaf
    it takes from. Every option has exactly these one or two leaves: its *corners*."""

    vector: Vector
    plus: str
    minus: str | None = None
    leaves: tuple[str, ...] = field(init=False, repr=False, compare=False)
    signs: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        single = self.minus is None
        object.__setattr__(self, "leaves", (self.plus,) if single else (self.plus, self.minus))
        object.__setattr__(self, "signs", (0,) if single else (0, 1))


def single(dim: Dim, leaf: str) -> Vector:
    return dict.fromkeys(dim.ancestors(leaf), 1)


def pair(dim: Dim, plus: str, minus: str) -> Vector:
    vec: Vector = {}
    for node in dim.ancestors(plus):
        vec[node] = vec.get(node, 0) + 1
    for node in dim.ancestors(minus):
        vec[node] = vec.get(node, 0) - 1
    return {n: v for n, v in vec.items() if v}


@dataclass(frozen=True)
class Part:
    """One table's share of a family move: its extent, its corner cells, every cell."""

    down: float
    up: float
    corners: list[Key]
    cells: list[tuple[Key, int]]
