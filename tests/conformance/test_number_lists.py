"""conformance/results/number_lists.py: a record's number lists made from arrays behave as the plain lists
they stand for, make their entries only when read, and forget their array when changed."""
import copy
import json
import pickle

import numpy as np
import pytest

from conformance.results import number_lists, packed
from conformance.results.strict_json import dumps

_PLAIN = [1.5, "inf", "-inf", "nan", -0.0, 2.0]
_SOURCE = np.array([1.5, np.inf, -np.inf, np.nan, -0.0, 2.0], dtype=np.float32)


@pytest.mark.parametrize("use", [
    lambda v: v == _PLAIN, lambda v: _PLAIN == v, lambda v: not (v != _PLAIN), lambda v: v[1:3] == ["inf", "-inf"],
    lambda v: list(v) == _PLAIN, lambda v: v[1] == "inf" and v[-2] == -0.0, lambda v: v + [1] == _PLAIN + [1],
    lambda v: [1] + v == [1] + _PLAIN, lambda v: v * 2 == _PLAIN * 2, lambda v: 2 * v == _PLAIN * 2,
    lambda v: json.dumps(v) == json.dumps(_PLAIN), lambda v: dumps({"a": v}) == dumps({"a": _PLAIN}),
    lambda v: pickle.loads(pickle.dumps(v)) == _PLAIN, lambda v: copy.deepcopy(v) == _PLAIN,
    lambda v: copy.copy(v) == _PLAIN, lambda v: repr(v) == repr(_PLAIN) and str(v) == str(_PLAIN),
    lambda v: "nan" in v and 7.0 not in v, lambda v: v.index(2.0) == 5 and v.count("inf") == 1,
    lambda v: tuple(v) == tuple(_PLAIN) and [*v] == _PLAIN, lambda v: list(reversed(v)) == _PLAIN[::-1],
    lambda v: (lambda w: (w.extend(v), w)[1])([0]) == [0] + _PLAIN,
    lambda v: (lambda w: (w.__setitem__(slice(None), v), w)[1])([9]) == _PLAIN,
    lambda v: np.asarray(v, dtype=object).tolist()[:3] == _PLAIN[:3], lambda v: bool(v) and len(v) == 6,
    lambda v: v == number_lists.number_list(_SOURCE) and number_lists.number_list(_SOURCE) == v,
    lambda v: v + number_lists.number_list(_SOURCE) == _PLAIN * 2, lambda v: v.copy() == _PLAIN,
    lambda v: dict(enumerate(v))[5] == 2.0 and sorted(v[:1] + v[-1:]) == [1.5, 2.0],
])
def test_a_lazy_number_list_behaves_as_the_list_it_stands_for(use):
    """number_lists.LazyNumberList: every list operation sees the entries (made on first read), and after that the
    object is a plain NumberList (C-speed list operations); len() alone makes no entry."""
    v = number_lists.number_list(_SOURCE)
    assert type(v) is number_lists.LazyNumberList and len(v) == 6 and type(v) is number_lists.LazyNumberList
    assert use(v)
    assert v == _PLAIN and type(v) is number_lists.NumberList and v.source is _SOURCE


def test_a_modified_number_list_forgets_its_source():
    """A list changed after it was made (never done by the suite, but possible) packs and pickles what it holds."""
    big = np.linspace(-1, 1, 2000).astype(np.float32)
    for change in (lambda v: v.append(3.0), lambda v: v.__setitem__(0, 9.0), lambda v: v.reverse(),
                   lambda v: v.pop(), lambda v: v.__iadd__([1.0])):
        v = number_lists.number_list(big)
        change(v)
        want = list(v)
        assert v.source is None and want != big.astype(np.float64).tolist()
        assert packed.unpack_numbers(packed.pack_numbers(v, "float32")) == want
        assert pickle.loads(pickle.dumps(v)) == want


def test_lists_read_first_by_several_threads_at_once_make_their_entries_once():
    from concurrent.futures import ThreadPoolExecutor

    big = np.arange(50_000, dtype=np.float32)
    for _ in range(5):
        v = number_lists.number_list(big)
        with ThreadPoolExecutor(8) as pool:
            lengths = list(pool.map(lambda _: len(list(v)), range(16)))
        assert lengths == [50_000] * 16 and list.__len__(v) == 50_000
