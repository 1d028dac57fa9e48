"""Derivatives with respect to weight and pos_weight (reference.derivs.weights): vjp:weight / vjp:pos_weight
against mpmath numerical differentiation of the independent formulas in tests/reference/mp_ops.py (about 30
digits), their cond quantities against mpmath (exact where the docstring says so, an upper bound within a
small factor for the "weight_sum" mean), and the request's validation."""
from __future__ import annotations

import json
import subprocess
import sys

import mpmath as mp
import numpy as np
import pytest

import mp_ops
import reference
from ref_helpers import in_dtype, mpf
from reference.errors import CaseError

PREC = 200
REL = mp.mpf("1e-28")

CE_LOGITS = [[1.0, 2.0, 3.0], [0.0, -1.0, 0.5], [2.0, 2.0, -4.0]]
CASES = [  # (op, inputs, params, parameter, cotangent, cond exact?)
    ("cross_entropy", {"logits": CE_LOGITS, "target": [0, 2, 1]}, {"weight": [0.5, 2.0, 1.5], "reduction": "none"},
     "weight", [2.0, -1.0, 0.5], True),
    ("cross_entropy", {"logits": CE_LOGITS, "target": [0, 2, 1]},
     {"weight": [0.5, 2.0, 1.5], "reduction": "sum", "label_smoothing": 0.25}, "weight", -3.0, True),
    ("cross_entropy", {"logits": CE_LOGITS, "target": [0, 2, 1]}, {"weight": [0.5, 2.0, 1.5], "reduction": "mean"},
     "weight", 1.5, False),
    ("cross_entropy", {"logits": CE_LOGITS, "target": [0, 2, -1]},
     {"weight": [0.5, 2.0, 1.5], "reduction": "mean", "mean_denominator": "count", "ignore_index": -1},
     "weight", 2.0, True),
    ("cross_entropy", {"logits": CE_LOGITS, "target": [[0.25, 0.25, 0.5], [1.0, 0.0, 0.0], [0.125, 0.75, 0.125]]},
     {"weight": [0.5, 2.0, 1.5], "reduction": "mean"}, "weight", -2.0, False),
    ("cross_entropy", {"logits": CE_LOGITS, "target": [[0.25, 0.25, 0.5], [1.0, 0.0, 0.0], [0.125, 0.75, 0.125]]},
     {"weight": [0.5, 2.0, 1.5], "reduction": "none", "label_smoothing": 0.125}, "weight", [1.0, -2.0, 0.0], True),
    ("nll_loss", {"logp": [[-1.0, -2.0, -0.5], [-0.25, -3.0, -1.5]], "target": [2, 1]},
     {"weight": [0.5, 2.0, 1.5], "reduction": "mean"}, "weight", 3.0, False),
    ("nll_loss", {"logp": [[-1.0, -2.0, -0.5], [-0.25, -3.0, -1.5]], "target": [2, 1]},
     {"weight": [0.5, 2.0, 1.5], "reduction": "none"}, "weight", [1.0, -4.0], True),
    ("binary_cross_entropy", {"p": [[0.25, 0.5], [0.75, 0.125]], "y": [[0.0, 1.0], [0.5, 1.0]]},
     {"weight": [2.0, 0.5], "reduction": "mean"}, "weight", 1.0, True),
    ("binary_cross_entropy", {"p": [0.25, 0.5, 0.875], "y": [0.0, 1.0, 0.25]},
     {"weight": [2.0, 0.5, 3.0], "reduction": "none"}, "weight", [1.0, -2.0, 0.5], True),
    ("binary_cross_entropy_with_logits", {"x": [[0.25, -2.0], [3.0, 0.125]], "y": [[0.0, 1.0], [0.5, 1.0]]},
     {"weight": [[2.0], [0.5]], "pos_weight": [3.0, 0.25], "reduction": "none"}, "pos_weight",
     [[1.0, -2.0], [0.5, 4.0]], True),
    ("binary_cross_entropy_with_logits", {"x": [[0.25, -2.0], [3.0, 0.125]], "y": [[0.0, 1.0], [0.5, 1.0]]},
     {"weight": [[2.0], [0.5]], "pos_weight": [3.0, 0.25], "reduction": "sum"}, "weight", 2.0, True),
    ("binary_cross_entropy_with_logits", {"x": [20.0, -3.0, 0.0], "y": [1.0, 0.0, 0.5]},
     {"pos_weight": [2.0], "reduction": "mean"}, "pos_weight", -1.0, True),
]


def _mp(a, dtype):
    a = np.asarray(a)
    return a if a.dtype.kind in "iu" else np.vectorize(mp.mpf, otypes=[object])(in_dtype(a, dtype))


def _perturbed(op, name, a):
    """|x| as the cond counts it: a hard 0/1 target element is exact data."""
    inp = next(i for i in reference.OPS[op].inputs if i.name == name)
    if inp.domain in ("binary", "target"):
        return np.vectorize(lambda x: mp.mpf(0) if x in (0, 1) else abs(x), otypes=[object])(a)
    return np.vectorize(abs, otypes=[object])(a)


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
@pytest.mark.parametrize("op,inputs,params,param,cot,exact_cond", CASES,
                         ids=[f"{c[0]}-{c[3]}-{c[2].get('reduction')}-{i}" for i, c in enumerate(CASES)])
def test_weight_vjp_and_cond_against_mpmath(op, inputs, params, param, cot, exact_cond, dtype):
    r = reference.evaluate(op, dtype, inputs, params, cotangent=cot, param_grads=[param])
    part = r.derivs[f"vjp:{param}"]
    assert set(r.derivs) == {f"vjp:{param}"} | {f"vjp:{n}" for n in reference.OPS[op].differentiable
                                                 if np.asarray(inputs[n]).dtype.kind == "f"}
    assert part.certified.all() and part.shape == np.shape(params[param])
    full = {**reference.OPS[op].defaults, **params}
    for key in ("weight", "pos_weight"):
        if full.get(key) is not None:
            full[key] = np.vectorize(mp.mpf, otypes=[object])(in_dtype(full[key], dtype))
    fn = mp_ops.OPS[op]
    with mp.workprec(PREC):
        vals = {k: _mp(v, dtype) for k, v in inputs.items()}
        floats = [n for n in reference.OPS[op].differentiable if vals[n].dtype == object]
        out0 = np.asarray(fn(**vals, **full), dtype=object)
        v = np.broadcast_to(_mp(cot, dtype), out0.shape)
        w0 = full[param]

        def f(wk, shifts=()):
            vv = dict(vals)
            for name, idx, h in shifts:
                a = vv[name].copy()
                a[idx] += h
                vv[name] = a
            return np.asarray(fn(**vv, **{**full, param: wk}), dtype=object)

        def vdot(out):
            return mp.fsum(np.asarray(v * out, dtype=object).ravel().tolist())

        def shifted(k, h):
            w = np.array(w0, dtype=object).copy()
            w[k] += h
            return w

        for k in np.ndindex(*np.shape(w0)):
            want = mp.diff(lambda h: vdot(f(shifted(k, h))), 0)
            got = mpf(part.exact[k])
            assert abs(got - want) <= REL * max(abs(want), 1), (k, got, want)
            # cond: sum over perturbed input elements of |d vjp_k / d x| |x|, plus the cotangent's share
            cond = mp.mpf(0)
            for name in floats:
                px = _perturbed(op, name, vals[name])
                for idx in np.ndindex(*vals[name].shape):
                    if px[idx] == 0:
                        continue
                    d2 = mp.diff(lambda a, h: vdot(f(shifted(k, h), [(name, idx, a)])),
                                 (0, 0), (1, 1))
                    cond += abs(d2) * px[idx]
            d_out = [mp.diff(lambda h, j=j: f(shifted(k, h)).ravel()[j], 0) for j in range(out0.size)]
            cond += mp.fsum(abs(vj) * abs(dj) for vj, dj in zip(v.ravel(), d_out))
            got_cond = float(part.cond[k])
            if exact_cond:
                assert got_cond == pytest.approx(float(cond), rel=1e-9, abs=1e-300), (k, got_cond, cond)
            else:  # the "weight_sum" mean: an upper bound (triangle inequality), within a small factor
                assert float(cond) * (1 - 1e-9) <= got_cond <= 8 * float(cond) + 1e-300, (k, got_cond, cond)


def test_weight_gradient_at_special_values():
    """A weight's derivative is the unweighted loss term: +inf where that term is (a zero probability at
    the label); an undefined (NaN) item makes the derivatives of the weights it reads NaN and leaves the
    others' (rule 2: the gradient of a sum is the sum of the items' gradients); an ignored item contributes
    nothing, even with NaN logits (rule 7)."""
    r = reference.evaluate("nll_loss", "float32", {"logp": [[float("-inf"), -1.0], [-0.5, -2.0]], "target": [0, 1]},
                           {"weight": [1.0, 2.0], "reduction": "sum"}, param_grads=["weight"])
    assert [str(s) for s in r.derivs["vjp:weight"].exact] == ["inf", "2"]
    r = reference.evaluate("cross_entropy", "float32", {"logits": [[float("nan"), 1.0], [0.0, 0.0]], "target": [0, 1]},
                           {"weight": [1.0, 2.0], "reduction": "sum"}, param_grads=["weight"])
    assert [str(s)[:12] for s in r.derivs["vjp:weight"].exact] == ["nan", "0.6931471805"]
    r = reference.evaluate("cross_entropy", "float32", {"logits": [[0.0, 0.0], [float("nan"), 0.0]], "target": [0, -1]},
                           {"weight": [1.0, 2.0], "reduction": "sum", "ignore_index": -1}, param_grads=["weight"])
    assert [str(s)[:12] for s in r.derivs["vjp:weight"].exact] == ["0.6931471805", "0"]


@pytest.mark.parametrize("op,inputs,params,grads,message", [
    ("cross_entropy", {"logits": [[1.0, 2.0]], "target": [0]}, {}, ["weight"], "gives no weight"),
    ("cross_entropy", {"logits": [[1.0, 2.0]], "target": [0]}, {"weight": [1.0, 1.0]}, ["pos_weight"],
     "no derivative for parameter 'pos_weight'"),
    ("softmax", {"x": [[1.0, 2.0]]}, {}, ["weight"], "no derivative for parameter"),
    ("binary_cross_entropy", {"p": [0.5], "y": [1.0]}, {"weight": [1.0]}, "weight", "must be a list"),
])
def test_bad_param_grads(op, inputs, params, grads, message):
    with pytest.raises(CaseError, match=message):
        reference.evaluate(op, "float32", inputs, params, param_grads=grads)


def test_cli_param_grads():
    case = {"op": "binary_cross_entropy_with_logits", "dtype": "float32", "inputs": {"x": [20.0], "y": [1.0]},
            "params": {"reduction": "sum", "pos_weight": [2.0]}, "param_grads": ["pos_weight"]}
    p = subprocess.run([sys.executable, "-m", "reference", "eval"], input=json.dumps(case), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["vjp"]["pos_weight"][0]["rounded"] == "2.0611537e-9"
    case["param_grads"] = ["weight"]
    p = subprocess.run([sys.executable, "-m", "reference", "eval"], input=json.dumps(case), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1, p.stderr
