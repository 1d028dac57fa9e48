"""The reference cache is plain data with a checksum: a damaged entry never changes a verdict, is discarded,
recomputed and counted; the cache stays within its size bounds."""
import os
import time

import numpy as np
import pytest

from conformance.execute import reference_store as refstore
from conformance.adapters import implementations_for
from conformance.cases.case import Case
from conformance.adapters.implementation import Observed
from conformance.execute.reference_cache import ReferenceCache, op_defaults
from conformance.execute.cell_runner import CellContext, evaluate_case

SOFTMAX = ("softmax", "float32", {"x": np.asarray([[0.5, -1.0, 3.0]], np.float32)})
BAD_LABEL = ("cross_entropy", "float32", {"logits": np.asarray([[0.5, -1.0]], np.float32),
                                          "target": np.asarray([5], np.int64)})


class StubWorker:
    """Answers every call with a fixed observation (the verdict then depends on the reference alone)."""

    def __init__(self, observed):
        self.observed = observed

    def call(self, *args, **kwargs):
        return self.observed


def _observations():
    impl = next(i for i in implementations_for("numpy") if i.id == "scipy.special.softmax")
    op, dtype, inputs = SOFTMAX
    exact = impl.call(inputs, op_defaults(op), dtype, "cpu", ())
    value = np.asarray(exact.value, np.float32)
    off = value.view(np.int32) + np.asarray([[3, 0, 0]], np.int32)  # 3 ulp off in one element
    far = value.view(np.int32) + np.asarray([[0, 1_700_000, 0]], np.int32)
    return impl, [("ok", Observed(value)), ("ok", Observed(off.view(np.float32))),
                  ("ok", Observed(far.view(np.float32))), ("raised", ("ValueError", "no"))]


def _verdicts(impl, observations, refs, case_spec):
    op, dtype, inputs = case_spec
    out = []
    for obs in observations:
        ctx = CellContext(impl, impl.framework, None, dtype, "cpu", StubWorker(obs), refs)
        record = evaluate_case(ctx, Case("c", op, dtype, dict(inputs), {}))
        out.append((record["verdict"], record["ulp"], record["bound_ratio"], record["reference"]))
    return out


def _same(a, b) -> bool:
    """Bit-identical reference answers (or the same error)."""
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b)
    pairs = [(a.value, b.value)] + [(a.grads[k], b.grads.get(k)) for k in a.grads]
    if (a.op, a.dtype, a.precision_bits, sorted(a.grads)) != (b.op, b.dtype, b.precision_bits, sorted(b.grads)):
        return False
    for x, y in pairs:
        if x.exact.shape != y.exact.shape or x.exact.tolist() != y.exact.tolist() or (x.ieee is None) != (y.ieee is None):
            return False
        for f in ("rounded", "cond", "certified", "ieee"):
            u, v = getattr(x, f), getattr(y, f)
            if u is not None and (u.dtype != v.dtype or u.shape != v.shape or u.tobytes() != v.tobytes()):
                return False
    return True


@pytest.mark.parametrize("case_spec", [SOFTMAX, BAD_LABEL], ids=["result", "error"])
def test_every_bit_flip_of_an_entry_is_caught_and_no_verdict_changes(case_spec, tmp_path, monkeypatch):
    """Every single-bit flip of one entry: the answer handed to the comparison is bit-identical to the true one
    (the damage is detected, the entry recomputed and rewritten); the full verdicts (value, ULPs, bound ratio,
    reference in the record) are checked on every 17th flip (every bit position), with the real reference."""
    import copy

    from conformance.execute import reference_cache as refcache

    impl, observations = _observations()
    op, dtype, inputs = case_spec
    params = op_defaults(op)
    truth = ReferenceCache().get(op, dtype, inputs, params)
    baseline = _verdicts(impl, observations, ReferenceCache(), case_spec)
    if case_spec is SOFTMAX:
        assert {v[0] for v in baseline} >= {"accurate", "inaccurate"}
    refs = ReferenceCache(tmp_path)
    assert _verdicts(impl, observations, refs, case_spec) == baseline
    key = Case("", op, dtype, inputs, params).key()
    path = refs.store.path(key)
    good = path.read_bytes()
    real_compute, recomputed = refcache._compute, []

    def compute(*args):
        recomputed.append(1)
        return real_compute(*args) if len(recomputed) % 17 == 1 else copy.deepcopy(truth)

    monkeypatch.setattr(refcache, "_compute", compute)
    warned = []
    refs = ReferenceCache(tmp_path, warn=warned.append)
    flips = 0
    for byte in range(len(good)):
        for bit in range(8):
            damaged = bytearray(good)
            damaged[byte] ^= 1 << bit
            path.write_bytes(bytes(damaged))
            refs._memo.clear()
            if flips % 17 == 0:
                assert _verdicts(impl, observations, refs, case_spec) == baseline, (byte, bit)
            else:
                assert _same(refs.get(op, dtype, inputs, params), truth), (byte, bit)
            assert path.read_bytes() == good, (byte, bit)  # recomputed and rewritten
            flips += 1
    assert refs.stats()["discarded"] == flips == len(recomputed) == 8 * len(good) and refs.disk_hits == 0
    assert len(warned) == 1 and "discarded and recomputed" in warned[0]
    refs._memo.clear()
    assert _same(refs.get(op, dtype, inputs, params), truth) and refs.disk_hits == 1  # the rewritten entry is sound


def test_an_entry_of_another_key_or_a_pickle_is_not_believed(tmp_path):
    refs = ReferenceCache(tmp_path)
    op, dtype, inputs = SOFTMAX
    params = op_defaults(op)
    refs.get(op, dtype, inputs, params)
    other = {"x": np.asarray([[1.0, 2.0, 3.0]], np.float32)}
    key, other_key = (Case("", op, dtype, i, params).key() for i in (inputs, other))
    target = refs.store.path(other_key)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(refs.store.path(key).read_bytes())  # a sound entry under the wrong name
    fresh = ReferenceCache(tmp_path)
    result = fresh.get(op, dtype, other, params)
    assert fresh.stats()["discarded"] == 1 and fresh.misses == 1
    assert result.value.rounded.tolist() == ReferenceCache().get(op, dtype, other, params).value.rounded.tolist()
    import pickle

    target.write_bytes(pickle.dumps(result))
    fresh = ReferenceCache(tmp_path)
    fresh.get(op, dtype, other, params)
    assert fresh.stats()["discarded"] == 1 and fresh.disk_hits == 0


def test_old_fingerprints_are_pruned_and_the_size_is_capped(tmp_path):
    now = time.time()
    for i in range(5):
        d = tmp_path / f"{i:016x}"
        (d / "ab").mkdir(parents=True)
        (d / "ab" / "x.json").write_text("x")
        os.utime(d, (now - 1000 * (i + 1), now - 1000 * (i + 1)))
    (tmp_path / "not-a-fingerprint").mkdir()
    store = refstore.DiskStore(tmp_path, "f" * 16, max_bytes=10_000, keep_fingerprints=3)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [f"{0:016x}", f"{1:016x}", "f" * 16, "not-a-fingerprint"] and store.pruned == 3
    refs = ReferenceCache()
    op, dtype, _ = SOFTMAX
    sizes = []
    for i in range(30):
        inputs = {"x": np.asarray([[float(i), 1.0, 2.0]], np.float32)}
        key = Case("", op, dtype, inputs, op_defaults(op)).key()
        store.save(key, refs.get(op, dtype, inputs, op_defaults(op)))
        sizes.append(len(refstore.encode(key, refs.get(op, dtype, inputs, op_defaults(op)))))
    written = len(refstore._entries(store.dir))
    assert store.bytes <= 10_000 and written + store.not_written == 30 and store.not_written > 0
    assert store.bytes > 10_000 - max(sizes)  # an entry is left out only when it would pass the cap
    reopened = refstore.DiskStore(tmp_path, "f" * 16, max_bytes=5_000)
    on_disk = sum(e[1] for e in refstore._entries(tmp_path / ("f" * 16)))
    assert on_disk == reopened.bytes <= 4_000 and reopened.pruned > 0


def test_the_reference_warnings_come_with_every_answer_fresh_cached_or_from_disk(tmp_path):
    """A record's suite_warnings must not depend on what the cache held: the warnings computing an answer
    raised (here numpy's overflow rounding an exact -2 max to float32) are handed out with each answer."""
    op, dtype = "log_softmax", "float32"
    big = np.finfo(np.float32).max
    inputs = {"x": np.asarray([[-big, big]], np.float32)}
    params = op_defaults(op)
    first = ReferenceCache(tmp_path)
    first.get(op, dtype, inputs, params)
    fresh = first.take_warnings()
    assert any(text.startswith("RuntimeWarning: overflow") for text in fresh), fresh
    first.get(op, dtype, inputs, params)
    assert first.take_warnings() == fresh  # from memory
    second = ReferenceCache(tmp_path)
    second.get(op, dtype, inputs, params)
    assert second.disk_hits == 1 and second.take_warnings() == fresh  # from disk
    assert second.take_warnings() == []
    entry = second.store.path(Case("", op, dtype, inputs, params).key()).read_bytes()
    assert entry.startswith(b"ce-refcache 3 ")
