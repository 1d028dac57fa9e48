"""The derivative modes against closed forms, their cond quantities against mpmath, their special values
(docs/special-values.md, "Derivative modes") and the command line's handling of them."""
from __future__ import annotations

import json
import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest

import reference
from ref_helpers import mpf


def _ev(op, inputs, params=None, dtype="float64", **modes):
    return reference.evaluate(op, dtype, inputs, params or {}, **modes)


def _exact(arr):
    return [mpf(s) for s in np.ravel(arr.exact)]


def test_sigmoid_closed_forms():
    """sigmoid: vjp = v s(1-s), jvp = s(1-s) t, hvp = v s(1-s)(1-2s) t."""
    x, v, t = [0.0, 1.5, -3.0], [2.0, -1.0, 0.5], [1.0, 4.0, -2.0]
    r = _ev("sigmoid", {"x": x}, cotangent=v, tangents={"x": t}, hvp=True)
    with mp.workprec(200):
        for i in range(3):
            s = 1 / (1 + mp.exp(-mp.mpf(x[i])))
            d1, d2 = s * (1 - s), s * (1 - s) * (1 - 2 * s)
            for key, want in (("vjp:x", v[i] * d1), ("jvp:x", d1 * t[i]), ("hvp:x", v[i] * d2 * t[i])):
                got = _exact(r.derivs[key])[i]
                assert abs(got - want) <= mp.mpf("1e-35") * max(1, abs(want)), (key, i, got, want)


def test_log_softmax_vjp_and_cross_entropy_hvp_closed_forms():
    """log_softmax: vjp = v - s sum(v); cross_entropy (labels, sum): hvp = s (t - <s, t>) per row."""
    x, v, t = [[0.0, 1.0, -2.0]], [[1.0, -2.0, 0.5]], [[3.0, 0.0, -1.0]]
    r = _ev("log_softmax", {"x": x}, cotangent=v)
    ce = _ev("cross_entropy", {"logits": x, "target": [1]}, {"reduction": "sum"}, tangents={"logits": t}, hvp=True)
    with mp.workprec(200):
        e = [mp.exp(mp.mpf(a)) for a in x[0]]
        s = [a / mp.fsum(e) for a in e]
        st = mp.fsum(a * b for a, b in zip(s, t[0]))
        for j in range(3):
            want = v[0][j] - s[j] * sum(v[0])
            assert abs(_exact(r.derivs["vjp:x"])[j] - want) < mp.mpf("1e-35")
            want = s[j] * (t[0][j] - st)
            assert abs(_exact(ce.derivs["hvp:logits"])[j] - want) < mp.mpf("1e-35")
        assert abs(_exact(ce.derivs["jvp:logits"])[0] - mp.fsum((s[j] - (j == 1)) * t[0][j] for j in range(3))) \
            < mp.mpf("1e-35")


def test_bce_with_logits_hvp_at_20():
    """bcel(x=20, y=1): d2/dx2 = s(20)(1 - s(20)) ~ 2.06e-9, d2/dxdy = -1: the catalog's readable case."""
    r = _ev("binary_cross_entropy_with_logits", {"x": [20.0], "y": [1.0]}, {"reduction": "sum"},
            dtype="float32", tangents={"x": [1.0], "y": [0.0]}, hvp=True)
    with mp.workprec(200):
        s = 1 / (1 + mp.exp(-20))
        assert abs(_exact(r.derivs["hvp:x"])[0] - s * (1 - s)) < mp.mpf("1e-45")
    assert _exact(r.derivs["hvp:y"])[0] == -1
    assert r.derivs["hvp:x"].rounded.dtype == np.float32


def test_cond_of_sigmoid_hvp_against_mpmath():
    """cond(hvp) = |d hvp/dx||x| + |v f''||t| + |hvp| (the tangent's and cotangent's shares)."""
    x, v, t = 1.25, -2.0, 3.0
    r = _ev("sigmoid", {"x": [x]}, cotangent=[v], tangents={"x": [t]}, hvp=True)
    with mp.workprec(100):
        f = lambda a: 1 / (1 + mp.exp(-a))  # noqa: E731
        d2, d3 = mp.diff(f, x, 2), mp.diff(f, x, 3)
        want = abs(v * d3 * t) * abs(x) + abs(v * d2) * abs(t) + abs(v * d2 * t)
    assert float(r.derivs["hvp:x"].cond[0]) == pytest.approx(float(want), rel=1e-12)
    with mp.workprec(100):
        want_jvp = abs(d2 * t) * abs(x) + abs(mp.diff(f, x)) * abs(t)
    assert float(r.derivs["jvp:x"].cond[0]) == pytest.approx(float(want_jvp), rel=1e-12)


def test_cond_of_softmax_vjp_against_mpmath():
    """cond(vjp_c) = sum_k |d vjp_c / d x_k| |x_k| + sum_i |J_ic| |v_i| (the cotangent's share)."""
    x, v = [0.5, -1.0, 2.0], [1.0, -3.0, 0.25]
    r = _ev("softmax", {"x": [x]}, cotangent=[v])
    with mp.workprec(120):
        def s(xs, i):
            e = [mp.exp(a) for a in xs]
            return e[i] / mp.fsum(e)

        def vjp(xs, c):
            return mp.diff(lambda h: mp.fsum(v[i] * s([a + h * (k == c) for k, a in enumerate(xs)], i)
                                             for i in range(3)), 0)
        for c in range(3):
            want = mp.fsum(abs(mp.diff(lambda h: vjp([a + h * (k == m) for k, a in enumerate(x)], c), 0)) * abs(x[m])
                           for m in range(3))
            want += mp.fsum(abs(mp.diff(lambda h: s([a + h * (k == c) for k, a in enumerate(x)], i), 0)) * abs(v[i])
                            for i in range(3))
            assert float(r.derivs["vjp:x"].cond[0, c]) == pytest.approx(float(want), rel=1e-9)


SPECIAL = [  # (op, inputs, params, modes, {part: limit column}, {part: ieee column or None})
    ("sigmoid", {"x": ["inf", "-inf", "nan"]}, {},
     {"cotangent": [2, 2, 2], "tangents": {"x": [1, 1, 1]}, "hvp": True},
     {"vjp:x": ["0", "0", "nan"], "jvp:x": ["0", "0", "nan"], "hvp:x": ["0", "0", "nan"]}),
    ("log_sigmoid", {"x": ["inf", "-inf"]}, {}, {"cotangent": [1, 3], "tangents": {"x": [1, 1]}, "hvp": True},
     {"vjp:x": ["0", "3"], "jvp:x": ["0", "1"], "hvp:x": ["0", "0"]}),
    ("softmax", {"x": [["inf", 0, 1]]}, {}, {"cotangent": [[1, 2, 3]], "tangents": {"x": [[1, 1, 1]]}, "hvp": True},
     {"vjp:x": ["0", "0", "0"], "jvp:x": ["0", "0", "0"], "hvp:x": ["0", "0", "0"]}),
    ("log_softmax", {"x": [["inf", 0, 1]]}, {}, {"cotangent": [[1, 2, 3]]}, {"vjp:x": ["-5", "2", "3"]}),
    ("entropy", {"p": [[0, 0.5, 0.5]]}, {}, {"tangents": {"p": [[1, 1, 1]]}, "hvp": True},
     {"jvp:p": ["inf"], "hvp:p": ["-inf", "-2", "-2"]}),
    ("binary_cross_entropy_with_logits", {"x": ["inf"], "y": [1.0]}, {"reduction": "none"},
     {"cotangent": [1], "tangents": {"x": [1], "y": [0]}},
     {"vjp:x": ["0"], "vjp:y": ["-inf"], "jvp:x": ["0"], "jvp:y": ["0"]}),
]


@pytest.mark.parametrize("op,inputs,params,modes,expect", SPECIAL, ids=[r[0] for r in SPECIAL])
def test_special_values_of_derivative_parts(op, inputs, params, modes, expect):
    """The rows of docs/special-values.md's "Derivative modes" table (limit column), in two dtypes."""
    for dtype in ("float64", "float16"):
        r = _ev(op, inputs, params, dtype=dtype, **modes)
        for key, want in expect.items():
            assert [str(s) for s in np.ravel(r.derivs[key].exact)] == want, (key, dtype)
        assert r.certified


def test_ieee_column_of_derivative_parts():
    """A +inf logit: the limit column is finite, plain IEEE arithmetic gives NaN for the whole row; a zero
    tangent times an infinite gradient is 0 in the limit and NaN in IEEE."""
    r = _ev("softmax", {"x": [["inf", 0, 1]]}, cotangent=[[1, 2, 3]], dtype="float32")
    assert np.isnan(r.derivs["vjp:x"].ieee).all()
    r = _ev("binary_cross_entropy_with_logits", {"x": ["inf"], "y": [1.0]}, {"reduction": "none"},
            tangents={"y": [0]})
    assert r.derivs["jvp:y"].rounded[0] == 0 and np.isnan(r.derivs["jvp:y"].ieee[0])


def _cli(case: dict):
    p = subprocess.run([sys.executable, "-m", "reference", "eval"], input=json.dumps(case), capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_cli_derivative_modes():
    case = {"op": "binary_cross_entropy_with_logits", "dtype": "float32", "inputs": {"x": [20.0], "y": [1.0]},
            "params": {"reduction": "sum"}, "cotangent": 2, "tangents": {"x": [1], "y": [0]}, "hvp": True}
    rc, out, err = _cli(case)
    assert rc == 0, err
    data = json.loads(out)
    assert set(data) >= {"vjp", "jvp", "hvp"} and data["hvp"]["y"][0]["exact"] == "-2"
    assert data["vjp"]["y"][0]["exact"] == "-40"


@pytest.mark.parametrize("extra,message", [
    ({"cotangent": [1, 2]}, "cotangent must have the output's shape"),
    ({"tangents": {"x": [1, 2]}}, "tangents.x must have x's shape"),
    ({"tangents": {"z": [1]}}, "no tangent for 'z'"),
    ({"tangents": [1]}, "tangents must be a mapping"),
    ({"hvp": True}, "hvp needs a tangent"),
    ({"hvp": "yes"}, "hvp must be true or false"),
    ({"cotangent": [[1]]}, "cotangent must have"),
    ({"cotangent": True}, "malformed number"),
])
def test_cli_bad_derivative_requests(extra, message):
    case = {"op": "sigmoid", "dtype": "bfloat16", "inputs": {"x": [1.0]}, **extra}
    rc, out, err = _cli(case)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_labels_for_a_class_axis_input():
    """cross_entropy_dist with integer labels p: the class axis is q's (labels have none); q's parts only."""
    r = _ev("cross_entropy_dist", {"p": [1, 0], "q": [[0.25, 0.75], [0.5, 0.5]]}, {"reduction": "sum"},
            cotangent=2.0, tangents={"q": [[1.0, -1.0], [0.5, 2.0]]}, hvp=True)
    assert set(r.derivs) == {"vjp:q", "jvp:q", "hvp:q"}
    # H(p, q) = -log q_y per row: d/dq = -1/q_y at y, d2/dq2 = 1/q_y^2
    assert [str(s) for s in r.derivs["vjp:q"].exact.ravel()] == ["0", "-2.666666666666666666666666666666666666667",
                                                               "-4", "0"]
    assert [str(s) for s in r.derivs["hvp:q"].exact.ravel()] == ["0", "-3.555555555555555555555555555555555555556",
                                                               "4", "0"]
