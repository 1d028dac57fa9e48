"""Identities between ops, at high precision (the exact strings), property-tested."""
from __future__ import annotations

import mpmath as mp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import draw_helpers as dh
from ref_helpers import close, evaluate, mpf

mp.mp.prec = 200
TIGHT = mp.mpf("1e-33")
NEAR_ZERO = mp.mpf("1e-60")  # exact gradients (and differences) may cancel to about 0: compared absolutely there
SETTINGS = settings(max_examples=20, deadline=None)


def _exact(arr) -> np.ndarray:
    return np.vectorize(mpf, otypes=[object])(np.asarray(arr, dtype=object))


def assert_agree(got, want, abs_=mp.mpf("1e-300")):
    """Each exact string of `got` is within TIGHT (relative; `abs_` absolute) of the matching element of `want`
    (exact strings or mpmath numbers)."""
    for u, v in zip(np.ravel(got), np.ravel(want)):
        assert close(mpf(u), mp.mpf(v), rel=TIGHT, abs_=abs_), (u, v)


@SETTINGS
@given(data=st.data())
def test_cross_entropy_is_entropy_plus_kl(data):
    rows, cols = dh.batch_shape(data, 3, 5)
    p, q = dh.probabilities(data, "p", rows, cols), dh.probabilities(data, "q", rows, cols)
    base = dh.one_of(data, "base", ["e", 2, 10])
    dtype = dh.dtype(data)
    h_pq = evaluate("cross_entropy_dist", dtype, {"p": p, "q": q}, {"base": base}).value.exact
    h_p = _exact(evaluate("entropy", dtype, {"p": p}, {"base": base}).value.exact)
    kl = _exact(evaluate("kl_divergence", dtype, {"p": p, "q": q}, {"base": base}).value.exact)
    assert_agree(h_pq, h_p + kl, abs_=NEAR_ZERO)


@SETTINGS
@given(data=st.data())
def test_cross_entropy_is_nll_of_log_softmax(data):
    x, y = dh.logits_and_labels(data, 4, 6)
    (rows, cols), dtype = x.shape, dh.dtype(data)
    ce = evaluate("cross_entropy", dtype, {"logits": x, "target": y}, {"axis": 1, "reduction": "none"})
    lp = _exact(evaluate("log_softmax", dtype, {"x": x}, {"axis": 1}).value.exact)
    assert_agree(ce.value.exact, -lp[np.arange(rows), y], abs_=NEAR_ZERO)
    # and the gradients: d ce / d x = softmax - one-hot
    sm = _exact(evaluate("softmax", dtype, {"x": x}, {"axis": 1}).value.exact)
    assert_agree(ce.grads["logits"].exact, sm - np.eye(cols, dtype=int)[y], abs_=NEAR_ZERO)


@SETTINGS
@given(data=st.data())
def test_shift_invariance(data):
    rows, cols = dh.batch_shape(data, 3, 5)
    x = dh.logits(data, "logits", rows, cols)
    shift = data.draw(st.integers(-16, 16), label="shift") / 2  # x + shift stays exact (quarters, |x| <= 16)
    op = dh.one_of(data, "op", ["softmax", "log_softmax", "cross_entropy"])
    dtype = dh.dtype(data)
    inputs = lambda v: {"x": v} if op != "cross_entropy" else {"logits": v, "target": np.zeros(rows, dtype=int)}
    key = "x" if op != "cross_entropy" else "logits"
    a = evaluate(op, dtype, inputs(x))
    b = evaluate(op, dtype, inputs(x + shift))
    assert np.array_equal(a.value.rounded, b.value.rounded)
    assert_agree(a.value.exact, b.value.exact, abs_=NEAR_ZERO)
    assert_agree(a.grads[key].exact, b.grads[key].exact, abs_=NEAR_ZERO)


@SETTINGS
@given(data=st.data())
def test_integer_labels_equal_one_hot_targets(data):
    x, y = dh.logits_and_labels(data, 4, 5)
    cols, dtype = x.shape[1], dh.dtype(data)
    smoothing = dh.one_of(data, "label_smoothing", [0.0, 0.25])
    weighted = dh.flag(data, "class weights")
    # "count": with label smoothing the two target kinds define "weight_sum" differently (docs/ops.md)
    params = {"label_smoothing": smoothing, "mean_denominator": "count"}
    if weighted:
        params["weight"] = [float(k + 1) for k in range(cols)]
    a = evaluate("cross_entropy", dtype, {"logits": x, "target": y}, params)
    b = evaluate("cross_entropy", dtype, {"logits": x, "target": np.eye(cols)[y]}, params)
    assert_agree(a.value.exact, b.value.exact)
    assert a.value.rounded == b.value.rounded
    assert_agree(a.grads["logits"].exact, b.grads["logits"].exact, abs_=NEAR_ZERO)


@SETTINGS
@given(data=st.data())
def test_bce_with_logits_symmetry(data):
    n = data.draw(st.integers(1, 5), label="elements")
    x = np.array([data.draw(st.integers(-80, 80), label=f"x {i}") / 8 for i in range(n)])
    y = np.array([data.draw(st.integers(0, 16), label=f"y {i}") / 16 for i in range(n)])  # 1 - y exact
    dtype = dh.dtype(data)
    reduction = dh.reduction(data)
    a = evaluate("binary_cross_entropy_with_logits", dtype, {"x": x, "y": y}, {"reduction": reduction})
    b = evaluate("binary_cross_entropy_with_logits", dtype, {"x": -x, "y": 1 - y}, {"reduction": reduction})
    assert_agree(a.value.exact, b.value.exact)
    assert_agree(a.grads["x"].exact, -_exact(b.grads["x"].exact), abs_=NEAR_ZERO)  # d/dx flips sign
    # and BCE on probabilities agrees with BCE on logits through the sigmoid (same exact numbers)
    p = np.array([0.5])
    c = evaluate("binary_cross_entropy", dtype, {"p": p, "y": y[:1]})
    d = evaluate("binary_cross_entropy_with_logits", dtype, {"x": np.zeros(1), "y": y[:1]})
    assert_agree(c.value.exact, d.value.exact)


@SETTINGS
@given(data=st.data())
def test_mean_is_sum_over_count_or_weight(data):
    x, y = dh.logits_and_labels(data, 5, 4, min_classes=2, lo=-1)
    cols = x.shape[1]
    w = [data.draw(st.integers(0, 8), label=f"weight {c}") / 4 for c in range(cols)]
    denominator = dh.one_of(data, "mean_denominator", ["count", "weight_sum"])
    common = {"weight": w, "ignore_index": -1, "mean_denominator": denominator}
    mean = evaluate("cross_entropy", "float64", {"logits": x, "target": y}, {**common, "reduction": "mean"})
    total = evaluate("cross_entropy", "float64", {"logits": x, "target": y}, {**common, "reduction": "sum"})
    counted = y != -1
    D = counted.sum() if denominator == "count" else sum(w[int(k)] for k in y[counted])
    if D == 0:
        assert mean.value.exact[()] == "nan"
        return
    assert_agree(mean.value.exact, _exact(total.value.exact) / D, abs_=NEAR_ZERO)
    assert_agree(mean.grads["logits"].exact, _exact(total.grads["logits"].exact) / D, abs_=NEAR_ZERO)
