"""The typed markers the case catalog (reference/catalog.py) writes its inputs with: integer labels, seeded
normal draws and their labels, empty arrays, and the special values' spellings."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Labels:
    values: list


@dataclass(frozen=True)
class Random:
    shape: tuple
    scale: float = 3.0
    seed: int = 0


@dataclass(frozen=True)
class Empty:
    """A floating array with a zero-sized dimension, e.g. Empty((0, 3)): an empty batch of 3 classes."""

    shape: tuple


@dataclass(frozen=True)
class RandomLabels:
    shape: tuple
    classes: int
    seed: int = 0


INF, NINF, NAN = "inf", "-inf", "nan"
