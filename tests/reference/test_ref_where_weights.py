"""where= masks (softmax, log_softmax, logsumexp, cross_entropy) and Keras sample_weight (weighted
reductions) against mpmath: the masked classes excluded from every sum, the weights applied to items."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

import reference
from reference.errors import CaseError

mp.mp.prec = 200
NAN, INF = float("nan"), float("inf")
X = [[1.0, 2.0, NAN, 0.5], [3.0, INF, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0], [-1.0, 7.0, 0.25, 2.0]]
W = [[True, True, False, True], [True, False, True, False], [False] * 4, [True, False, True, True]]


def _rounded32(v) -> float:
    return float(np.float32(float(v)))


def _mp_log_softmax(row, keep):
    kept = [mp.mpf(x) for x, k in zip(row, keep) if k]
    lse = mp.log(mp.fsum(mp.exp(x) for x in kept)) if kept else -mp.inf
    return [mp.mpf(x) - lse if k else -mp.inf for x, k in zip(row, keep)], lse


def test_where_log_softmax_softmax_logsumexp_match_mpmath():
    lsm = reference.evaluate("log_softmax", "float32", {"x": X}, {"where": W})
    sm = reference.evaluate("softmax", "float32", {"x": X}, {"where": W})
    lse = reference.evaluate("logsumexp", "float32", {"x": X}, {"where": W})
    for r, (row, keep) in enumerate(zip(X, W)):
        want, want_lse = _mp_log_softmax(row, keep)
        K = sum(keep)
        for c in range(4):
            got = lsm.value.rounded[r, c]
            assert got == (-INF if not keep[c] else _rounded32(want[c]))
            assert sm.value.rounded[r, c] == (0.0 if not keep[c] else _rounded32(mp.exp(want[c])))
            s = mp.exp(want[c]) if keep[c] else 0
            assert lsm.grads["x"].rounded[r, c] == (_rounded32(1 - K * s) if keep[c] else 0.0)
            assert lse.grads["x"].rounded[r, c] == (_rounded32(s) if keep[c] else 0.0)
            assert sm.grads["x"].rounded[r, c] == 0.0
        assert lse.value.rounded[r] == (-INF if K == 0 else _rounded32(want_lse))


def test_where_leaves_unmasked_rows_as_without_mask():
    all_true = [[True] * 4] * 4
    x = [[1.0, 2.0, 3.0, 0.5]] * 4
    for op in ("softmax", "log_softmax", "logsumexp"):
        a = reference.evaluate(op, "float64", {"x": x}, {"where": all_true})
        b = reference.evaluate(op, "float64", {"x": x}, {})
        assert np.array_equal(a.value.rounded, b.value.rounded)
        assert np.array_equal(a.grads["x"].rounded, b.grads["x"].rounded)


def test_where_cross_entropy_probability_targets_match_mpmath():
    t = [[0.5, 0.5, 0.0, 0.0], [0.2, 0.0, 0.8, 0.0], [0.25] * 4, [0.1, 0.3, 0.2, 0.4]]
    r = reference.evaluate("cross_entropy", "float32", {"logits": X, "target": t},
                           {"where": W, "axis": -1, "reduction": "none", "label_smoothing": 0.1})
    for i, (row, keep) in enumerate(zip(X, W)):
        lp, _ = _mp_log_softmax(row, keep)
        ts = [mp.mpf(0.9) * mp.mpf(np.float32(v).item()) + mp.mpf(0.1) / 4 for v in t[i]]
        want = -mp.fsum(tc * lpc for tc, lpc, k in zip(ts, lp, keep) if k)
        assert r.value.rounded[i] == _rounded32(want)
        for c in range(4):
            gt = -mp.mpf(0.9) * lp[c] if keep[c] else 0
            assert r.grads["target"].rounded[i, c] == _rounded32(gt)  # 0, not NaN, where masked
            A = mp.fsum(tc for tc, k in zip(ts, keep) if k)
            gx = A * mp.exp(lp[c]) - ts[c] if keep[c] else 0
            assert r.grads["logits"].rounded[i, c] == _rounded32(gx)


def test_where_cross_entropy_labels_masked_label_is_zero():
    r = reference.evaluate("cross_entropy", "float32", {"logits": X, "target": [2, 0, 1, 3]},
                           {"where": W, "axis": -1, "reduction": "none"})
    assert r.value.rounded[0] == 0.0 and not r.grads["logits"].rounded[0].any()  # label 2 masked (and NaN)
    lp, _ = _mp_log_softmax(X[1], W[1])
    assert r.value.rounded[1] == _rounded32(-lp[0])
    assert r.value.rounded[2] == 0.0  # nothing kept
    lp, _ = _mp_log_softmax(X[3], W[3])
    assert r.value.rounded[3] == _rounded32(-lp[3])
    with pytest.raises(CaseError):
        reference.evaluate("cross_entropy", "float32", {"logits": X, "target": [2, 0, 1, 3]},
                           {"where": W, "axis": -1, "label_smoothing": 0.1})


@pytest.mark.parametrize("bad", [[[1, 0, 1, 1]] * 4, [[True, False]] * 4, "yes"])
def test_where_must_be_a_boolean_array_of_the_input_shape(bad):
    with pytest.raises(CaseError):
        reference.evaluate("softmax", "float32", {"x": X}, {"where": bad})


LOGITS = [[1.0, 2.0, 0.3, 0.5], [3.0, -1.0, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0]]
LABELS = [2, 0, 1]


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("sw", [[0.5, 0.0, -2.0], 3.0, [1e30, 1e-30, 1.0]])
def test_sample_weight_weighted_reductions_match_mpmath(reduction, sw):
    r = reference.evaluate("cross_entropy", "float64", {"logits": LOGITS, "target": LABELS},
                           {"axis": -1, "reduction": reduction, "sample_weight": sw})
    w = np.broadcast_to(np.asarray(sw, dtype=np.float64), (3,))
    items, grads = [], []
    for row, y in zip(LOGITS, LABELS):
        lp, _ = _mp_log_softmax(row, [True] * 4)
        items.append(-lp[y])
        grads.append([mp.exp(lp[c]) - (1 if c == y else 0) for c in range(4)])
    scale = mp.mpf(1) / 3 if reduction == "mean" else 1
    if reduction == "none":
        assert r.value.rounded.tolist() == [float(mp.mpf(wi) * li) for wi, li in zip(w, items)]
    else:
        assert float(r.value.rounded) == float(mp.fsum(mp.mpf(wi) * li for wi, li in zip(w, items)) * scale)
    for i in range(3):
        for c in range(4):
            assert r.grads["logits"].rounded[i, c] == float(mp.mpf(w[i]) * grads[i][c] * scale)


def test_sample_weight_binary_scalar_and_none_is_unweighted():
    args = {"x": [1.0, -2.0, 3.0], "y": [0.0, 1.0, 0.5]}
    plain = reference.evaluate("binary_cross_entropy_with_logits", "float64", args, {"reduction": "sum"})
    half = reference.evaluate("binary_cross_entropy_with_logits", "float64", args,
                              {"reduction": "sum", "sample_weight": 0.5})
    assert float(half.value.rounded) == float(plain.value.rounded) / 2  # a power of two: exact
    assert np.array_equal(half.grads["x"].rounded, plain.grads["x"].rounded / 2)
    none = reference.evaluate("binary_cross_entropy_with_logits", "float64", args,
                              {"reduction": "sum", "sample_weight": None})
    assert float(none.value.rounded) == float(plain.value.rounded)


def test_sample_weight_zero_removes_an_infinite_item_ieee_nan_and_shape_checked():
    r = reference.evaluate("cross_entropy", "float32", {"logits": [[0.0, -INF]], "target": [1]},
                           {"axis": -1, "reduction": "none", "sample_weight": [0.0]})
    assert r.value.rounded[0] == 0.0 and math.isnan(r.value.ieee[0])  # limit: removed; IEEE: 0 * inf
    with pytest.raises(CaseError):
        reference.evaluate("cross_entropy", "float32", {"logits": LOGITS, "target": LABELS},
                           {"axis": -1, "sample_weight": [1.0, 2.0]})
    with pytest.raises(CaseError):
        reference.evaluate("cross_entropy", "float32", {"logits": LOGITS, "target": LABELS},
                           {"axis": -1, "sample_weight": [1.0, INF, 2.0]})


def test_where_vjp_of_log_softmax_treats_masked_outputs_as_constants():
    v = np.arange(16.0).reshape(4, 4)
    r = reference.evaluate("log_softmax", "float64", {"x": X}, {"where": W}, cotangent=v, tangents={"x": v})
    for i, (row, keep) in enumerate(zip(X, W)):
        lp, _ = _mp_log_softmax(row, keep)
        total = mp.fsum(v[i, c] for c in range(4) if keep[c])
        for c in range(4):
            want = v[i, c] - mp.exp(lp[c]) * total if keep[c] else 0
            if not math.isnan(r.derivs["vjp:x"].rounded[i, c]):  # the row with +inf kept is NaN
                assert r.derivs["vjp:x"].rounded[i, c] == float(want)
    assert not r.derivs["vjp:x"].rounded[2].any() and not r.derivs["jvp:x"].rounded[2].any()


def test_fast_path_still_answers_without_mask_or_weights_and_defers_with_them():
    from reference import fastpath
    from reference.case import prepare

    plain = {"logits": [[1.0, 2.0]], "target": [1]}
    assert fastpath.compute(prepare("softmax", "float32", {"x": [[1.0, 2.0]]}, {"where": None})) is not None
    assert fastpath.compute(prepare("cross_entropy", "float32", plain, {"sample_weight": None})) is not None
    assert fastpath.compute(prepare("softmax", "float32", {"x": [[1.0, 2.0]]}, {"where": [[True, False]]})) is None
    assert fastpath.compute(prepare("cross_entropy", "float32", plain, {"sample_weight": [2.0]})) is None


def test_where_masked_gradient_is_zero_in_an_undefined_row():
    """A row whose kept classes are all -inf is NaN (0/0), but a masked class is never read: gradient 0."""
    for op in ("softmax", "log_softmax"):
        r = reference.evaluate(op, "float32", {"x": [[NINF_, 0.0, 1.0]]}, {"where": [[True, False, False]]})
        assert math.isnan(r.grads["x"].rounded[0, 0]) or op == "log_softmax"
        assert r.grads["x"].rounded[0, 1] == 0.0 and r.grads["x"].rounded[0, 2] == 0.0


NINF_ = -INF
