"""Identities between ops, at high precision (the exact strings), property-tested."""
from __future__ import annotations

import mpmath as mp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ref_helpers import DTYPE_NAMES, close, evaluate, logits_strategy, mpf, prob_rows_strategy

mp.mp.prec = 200
TIGHT = mp.mpf("1e-33")
SETTINGS = settings(max_examples=20, deadline=None)


def _exact(arr) -> np.ndarray:
    return np.vectorize(mpf, otypes=[object])(np.asarray(arr, dtype=object))


@SETTINGS
@given(data=st.data())
def test_cross_entropy_is_entropy_plus_kl(data):
    rows = data.draw(st.integers(1, 3), label="rows")
    cols = data.draw(st.integers(1, 5), label="classes")
    p = data.draw(prob_rows_strategy(rows, cols), label="p")
    q = data.draw(prob_rows_strategy(rows, cols), label="q")
    base = data.draw(st.sampled_from(["e", 2, 10]), label="base")
    dtype = data.draw(st.sampled_from(DTYPE_NAMES), label="dtype")
    h_pq = _exact(evaluate("cross_entropy_dist", dtype, {"p": p, "q": q}, {"base": base}).value.exact)
    h_p = _exact(evaluate("entropy", dtype, {"p": p}, {"base": base}).value.exact)
    kl = _exact(evaluate("kl_divergence", dtype, {"p": p, "q": q}, {"base": base}).value.exact)
    for a, b, c in zip(h_pq, h_p, kl):
        assert close(a, b + c, rel=TIGHT, abs_=mp.mpf("1e-60"))


@SETTINGS
@given(data=st.data())
def test_cross_entropy_is_nll_of_log_softmax(data):
    rows = data.draw(st.integers(1, 4), label="rows")
    cols = data.draw(st.integers(1, 6), label="classes")
    x = data.draw(logits_strategy(rows, cols), label="logits")
    y = np.array([data.draw(st.integers(0, cols - 1), label=f"label {i}") for i in range(rows)])
    dtype = data.draw(st.sampled_from(DTYPE_NAMES), label="dtype")
    ce = evaluate("cross_entropy", dtype, {"logits": x, "target": y}, {"axis": 1, "reduction": "none"})
    lp = _exact(evaluate("log_softmax", dtype, {"x": x}, {"axis": 1}).value.exact)
    for i in range(rows):
        assert close(mpf(ce.value.exact[i]), -lp[i, y[i]], rel=TIGHT, abs_=mp.mpf("1e-60"))
    # and the gradients: d ce / d x = softmax - one-hot
    sm = _exact(evaluate("softmax", dtype, {"x": x}, {"axis": 1}).value.exact)
    g = _exact(ce.grads["logits"].exact)
    for i in range(rows):
        for j in range(cols):
            assert close(g[i, j], sm[i, j] - (1 if j == y[i] else 0), rel=TIGHT, abs_=mp.mpf("1e-60"))


@SETTINGS
@given(data=st.data())
def test_shift_invariance(data):
    rows = data.draw(st.integers(1, 3), label="rows")
    cols = data.draw(st.integers(1, 5), label="classes")
    x = data.draw(logits_strategy(rows, cols), label="logits")
    shift = data.draw(st.integers(-16, 16), label="shift") / 2  # x + shift stays exact (quarters, |x| <= 16)
    op = data.draw(st.sampled_from(["softmax", "log_softmax", "cross_entropy"]), label="op")
    dtype = data.draw(st.sampled_from(DTYPE_NAMES), label="dtype")
    inputs = lambda v: {"x": v} if op != "cross_entropy" else {"logits": v, "target": np.zeros(rows, dtype=int)}
    key = "x" if op != "cross_entropy" else "logits"
    a = evaluate(op, dtype, inputs(x))
    b = evaluate(op, dtype, inputs(x + shift))
    assert np.array_equal(a.value.rounded, b.value.rounded)
    for u, v in zip(np.ravel(a.value.exact), np.ravel(b.value.exact)):
        assert close(mpf(u), mpf(v), rel=TIGHT, abs_=mp.mpf("1e-60"))
    for u, v in zip(np.ravel(a.grads[key].exact), np.ravel(b.grads[key].exact)):
        assert close(mpf(u), mpf(v), rel=TIGHT, abs_=mp.mpf("1e-60"))


@SETTINGS
@given(data=st.data())
def test_integer_labels_equal_one_hot_targets(data):
    rows = data.draw(st.integers(1, 4), label="rows")
    cols = data.draw(st.integers(1, 5), label="classes")
    x = data.draw(logits_strategy(rows, cols), label="logits")
    y = np.array([data.draw(st.integers(0, cols - 1), label=f"label {i}") for i in range(rows)])
    dtype = data.draw(st.sampled_from(DTYPE_NAMES), label="dtype")
    smoothing = data.draw(st.sampled_from([0.0, 0.25]), label="label_smoothing")
    weighted = data.draw(st.booleans(), label="class weights")
    # "count": with label smoothing the two target kinds define "weight_sum" differently (docs/ops.md)
    params = {"label_smoothing": smoothing, "mean_denominator": "count"}
    if weighted:
        params["weight"] = [float(k + 1) for k in range(cols)]
    a = evaluate("cross_entropy", dtype, {"logits": x, "target": y}, params)
    b = evaluate("cross_entropy", dtype, {"logits": x, "target": np.eye(cols)[y]}, params)
    assert close(mpf(a.value.exact[()]), mpf(b.value.exact[()]), rel=TIGHT)
    assert a.value.rounded == b.value.rounded
    for u, v in zip(np.ravel(a.grads["logits"].exact), np.ravel(b.grads["logits"].exact)):
        assert close(mpf(u), mpf(v), rel=TIGHT, abs_=mp.mpf("1e-60"))


@SETTINGS
@given(data=st.data())
def test_bce_with_logits_symmetry(data):
    n = data.draw(st.integers(1, 5), label="elements")
    x = np.array([data.draw(st.integers(-80, 80), label=f"x {i}") / 8 for i in range(n)])
    y = np.array([data.draw(st.integers(0, 16), label=f"y {i}") / 16 for i in range(n)])  # 1 - y exact
    dtype = data.draw(st.sampled_from(DTYPE_NAMES), label="dtype")
    reduction = data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")
    a = evaluate("binary_cross_entropy_with_logits", dtype, {"x": x, "y": y}, {"reduction": reduction})
    b = evaluate("binary_cross_entropy_with_logits", dtype, {"x": -x, "y": 1 - y}, {"reduction": reduction})
    for u, v in zip(np.ravel(a.value.exact), np.ravel(b.value.exact)):
        assert close(mpf(u), mpf(v), rel=TIGHT)
    for u, v in zip(np.ravel(a.grads["x"].exact), np.ravel(b.grads["x"].exact)):  # d/dx flips sign
        assert close(mpf(u), -mpf(v), rel=TIGHT, abs_=mp.mpf("1e-60"))
    # and BCE on probabilities agrees with BCE on logits through the sigmoid (same exact numbers)
    p = np.array([0.5])
    c = evaluate("binary_cross_entropy", dtype, {"p": p, "y": y[:1]})
    d = evaluate("binary_cross_entropy_with_logits", dtype, {"x": np.zeros(1), "y": y[:1]})
    assert close(mpf(c.value.exact[()]), mpf(d.value.exact[()]), rel=TIGHT)


@SETTINGS
@given(data=st.data())
def test_mean_is_sum_over_count_or_weight(data):
    rows = data.draw(st.integers(1, 5), label="rows")
    cols = data.draw(st.integers(2, 4), label="classes")
    x = data.draw(logits_strategy(rows, cols), label="logits")
    y = np.array([data.draw(st.integers(-1, cols - 1), label=f"label {i}") for i in range(rows)])
    w = [data.draw(st.integers(0, 8), label=f"weight {c}") / 4 for c in range(cols)]
    denominator = data.draw(st.sampled_from(["count", "weight_sum"]), label="mean_denominator")
    common = {"weight": w, "ignore_index": -1, "mean_denominator": denominator}
    mean = evaluate("cross_entropy", "float64", {"logits": x, "target": y}, {**common, "reduction": "mean"})
    total = evaluate("cross_entropy", "float64", {"logits": x, "target": y}, {**common, "reduction": "sum"})
    counted = y != -1
    D = counted.sum() if denominator == "count" else sum(w[int(k)] for k in y[counted])
    if D == 0:
        assert mean.value.exact[()] == "nan"
        return
    assert close(mpf(mean.value.exact[()]), mpf(total.value.exact[()]) / D, rel=TIGHT, abs_=mp.mpf("1e-60"))
    for u, v in zip(np.ravel(mean.grads["logits"].exact), np.ravel(total.grads["logits"].exact)):
        assert close(mpf(u), mpf(v) / D, rel=TIGHT, abs_=mp.mpf("1e-60"))
