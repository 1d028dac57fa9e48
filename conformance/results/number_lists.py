"""A tensor's numbers in a record in memory: a list of JSON numbers ("inf" / "-inf" / "nan" for non-finite values)
that remembers the array it was made from (NumberList), and makes its entries only when first read
(LazyNumberList). Records keep the list form every reader of a record expects (docs/results.md); the array
lets conformance/results/packed.py write a long list without reading it, and a lane send it as the array.
"""
from __future__ import annotations

import threading

import numpy as np

_FILLING = threading.Lock()
PACK_MIN = 1024  # lists of more elements are packed when written (packed.py): pickled as their array too


class NumberList(list):
    """A number list made from an array (stream.numbers_json), remembering that array: pack_numbers packs it
    without reading the list back. Such lists are never modified after they are made, so the list is
    number_list(source), and a long one pickles as its source array alone (a run's lane sends its records to
    the driver: a list of 32,768 floats pickles float by float in 1.3 ms and unpickles in 2.9 ms). A
    modification (any list method that changes it) forgets the source: the list is then what it holds."""

    __slots__ = ("source",)

    def __reduce_ex__(self, protocol):
        src = getattr(self, "source", None)
        if src is not None and len(self) > PACK_MIN and src.size == len(self):
            return number_list, (src,)
        return super().__reduce_ex__(protocol)


def _forgetting(name: str):
    method = getattr(list, name)

    def modify(self, *args):
        self.source = None  # the list is now what it holds
        return method(self, *args)

    modify.__name__ = name
    return modify


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend", "insert", "pop", "remove",
              "clear", "sort", "reverse"):
    setattr(NumberList, _name, _forgetting(_name))


class LazyNumberList(NumberList):
    """A NumberList whose entries are not made yet (number_list): a Python float per element costs about
    twice what certifying the element did (docs/results.md, "Record size"), and most records are packed
    from their arrays and written without anyone reading a list. The first read of its entries (any list
    operation but len(), which the source answers) makes them and turns the object into a plain NumberList
    (its class changes in place): from then on every operation runs at list speed. Until then it holds no
    entries, so C code that reads a list's storage directly instead of through its methods would see none:
    Python's own operators, iteration, json, pickle, copy and numpy go through the methods (tested:
    tests/conformance/test_number_lists.py)."""

    __slots__ = ()

    def _fill(self) -> None:
        values = number_values(self.source)
        with _FILLING:  # two threads reading one list first at once make its entries once
            if type(self) is LazyNumberList:
                list.extend(self, values)
                self.__class__ = NumberList

    def __len__(self):
        return int(self.source.size)

    def __reduce_ex__(self, protocol):
        return number_list, (self.source,)

    def __repr__(self):
        self._fill()
        return list.__repr__(self)

    def __radd__(self, other):  # other + self, other not a list subclass (list + list goes to list's own +)
        self._fill()
        return other + list(self) if isinstance(other, list) else NotImplemented


def _reading(name: str):
    def read(self, *args):
        self._fill()
        for other in args:  # list's own operators read the other list's entries directly: make them too
            if type(other) is LazyNumberList:
                other._fill()
        return getattr(self, name)(*args)  # the class is NumberList now: the list's (or its forgetting) method

    read.__name__ = name
    return read


for _name in ("__getitem__", "__iter__", "__reversed__", "__contains__", "__eq__", "__ne__", "__lt__", "__le__",
              "__gt__", "__ge__", "__add__", "__mul__", "__rmul__", "__iadd__", "__imul__",
              "__setitem__", "__delitem__", "__sizeof__", "copy", "index", "count", "append", "extend",
              "insert", "pop", "remove", "clear", "sort", "reverse"):
    setattr(LazyNumberList, _name, _reading(_name))
LazyNumberList.__hash__ = None


def number_list(source: np.ndarray) -> NumberList:
    """The NumberList of an array's values (stream.numbers_json's): floats, and "inf" / "-inf" / "nan";
    its entries are made when first read (LazyNumberList)."""
    out = LazyNumberList()
    out.source = source
    return out


def number_values(source: np.ndarray) -> list:
    """The values of an array as a results file's list holds them: Python floats (float64), the non-finite
    ones spelled "inf" / "-inf" / "nan" (what packed.unpack_numbers hands back too)."""
    v = np.asarray(source).astype(np.float64).ravel()
    out = v.tolist()
    if not np.isfinite(v).all():
        for i in np.flatnonzero(~np.isfinite(v)).tolist():
            out[i] = "nan" if np.isnan(v[i]) else ("inf" if v[i] > 0 else "-inf")
    return out
