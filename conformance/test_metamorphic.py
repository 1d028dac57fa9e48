"""Metamorphic properties of each framework: the framework against itself, on Hypothesis-drawn inputs.

* integer labels vs one-hot targets give the same loss;
* softmax / log_softmax / cross-entropy are invariant under shifting every logit by the same constant;
* cross_entropy(x) = nll_loss(log_softmax(x));
* reduction "mean" = reduction "sum" / number of items;
* from_logits=True on x = from_logits=False on sigmoid(x) (moderate x, up to the rounding of sigmoid(x));
* the dot-product test of each framework's own vjp and jvp: u^T (J t) = (J^T u)^T t;
* its Hessian-vector products are symmetric: s^T (H_v t) = t^T (H_v s) (H_v the Hessian of v . f).

Each relation is exact mathematics; the tolerance is the ULP budget of the comparison (docs/verdicts.md),
except from_logits, whose probability path first rounds sigmoid(x) to the dtype.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.adapters import availability, implementations_for
from conformance.judge.verdict import ULP_BUDGET
from conformance.floats import np_dtype, ulp_distance, unit_roundoff

DTYPES = ("float64", "float32")
LABELS_VS_ONEHOT = [
    ("torch", "torch.nn.functional.cross_entropy[class]", "torch.nn.functional.cross_entropy[probs]"),
    ("tensorflow", "tf.nn.sparse_softmax_cross_entropy_with_logits", "tf.nn.softmax_cross_entropy_with_logits"),
    ("tensorflow", "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
     "keras.losses.CategoricalCrossentropy(from_logits=True)"),
    ("jax", "optax.losses.softmax_cross_entropy_with_integer_labels", "optax.losses.softmax_cross_entropy"),
]
SHIFT_OPS = ("softmax", "log_softmax", "cross_entropy")
MEAN_VS_SUM_OPS = ("cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy")
FROM_LOGITS = [("tensorflow", "keras.losses.BinaryCrossentropy(from_logits=True)",
                "keras.losses.BinaryCrossentropy(from_logits=False)")]
SETTINGS = settings(max_examples=12, deadline=None, database=None)


def _impls(framework: str) -> dict:
    ok, why = availability(framework)
    if not ok:
        pytest.skip(why)
    return {i.id: i for i in implementations_for(framework)}


def _params(impl, **wanted) -> dict:
    import reference

    params = {**reference.OPS[impl.op].defaults, **impl.fixed_params}
    for name, value in wanted.items():
        if name in impl.fixed_params:
            continue
        allowed = impl.params.get(name, ())
        if allowed is None or value in allowed:
            params[name] = value
    return params


def _known_violation(relation: str, *impl_ids: str):
    """xfail (with the entry's reason and link) where known_divergences.toml lists this relation as failing."""
    from conformance.judge import known

    entries = known.load()
    for impl_id in impl_ids:
        entry = known.known_relation(entries, relation, impl_id)
        if entry is not None:
            return entry
    return None


def _check(relation: str, impl_ids: tuple, a, b, dtype, what, budget=None):
    _unless_known(relation, impl_ids, _assert_close, a, b, dtype, what, budget)


def _unless_known(relation: str, impl_ids: tuple, check, *args):
    """check(*args); a failure is an xfail when a known divergence lists the relation for these rows."""
    try:
        check(*args)
    except AssertionError as exc:
        entry = _known_violation(relation, *impl_ids)
        if entry is None:
            raise
        pytest.xfail(f"known divergence {entry.id}: {entry.reason} ({entry.link}); {exc}")


def _assert_close(a, b, dtype, what, budget=None):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} vs {b.shape}"
    finite = np.isfinite(a.astype(np.float64)) & np.isfinite(b.astype(np.float64))
    np.testing.assert_array_equal(np.isnan(a.astype(np.float64)), np.isnan(b.astype(np.float64)), err_msg=what)
    ulps = ulp_distance(a[finite].astype(np_dtype(dtype)), b[finite].astype(np_dtype(dtype)), dtype)
    limit = ULP_BUDGET[dtype] if budget is None else budget
    assert ulps.size == 0 or ulps.max() <= limit, f"{what}: {ulps.max():g} ulp apart (budget {limit})"


def _logits(data, dtype, n, c, label="logits"):
    vals = data.draw(st.lists(st.integers(-8, 8), min_size=n * c, max_size=n * c), label=label)
    scale = data.draw(st.sampled_from([1.0, 0.5, 0.25]), label=f"{label} scale")
    return (np.asarray(vals, np.float64).reshape(n, c) * scale).astype(np_dtype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("framework,labels_id,onehot_id", LABELS_VS_ONEHOT, ids=lambda v: str(v))
@SETTINGS
@given(data=st.data())
def test_integer_labels_equal_one_hot(framework, labels_id, onehot_id, dtype, data):
    impls = _impls(framework)
    n = data.draw(st.integers(1, 4), label="batch")
    c = data.draw(st.integers(2, 6), label="classes")
    logits = _logits(data, dtype, n, c)
    labels = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n), label="labels"))
    onehot = np.eye(c, dtype=np.float64)[labels].astype(np_dtype(dtype))
    a, b = impls[labels_id], impls[onehot_id]
    va = a.call({"logits": logits, "target": labels}, _params(a, reduction="none"), dtype, "cpu", ()).value
    vb = b.call({"logits": logits, "target": onehot}, _params(b, reduction="none"), dtype, "cpu", ()).value
    _check("integer_labels_vs_one_hot", (labels_id, onehot_id), va, vb, dtype, f"{labels_id} vs {onehot_id}")


def _shift_cases():
    cases = []
    for framework in ("torch", "tensorflow", "jax", "numpy"):
        ok, _ = availability(framework)
        if ok:
            # not the precision-policy rows: the relation shifts the inputs in the case dtype, and a policy
            # rounds x and x + shift again to its compute dtype (bfloat16: 8 bits), differently
            cases += [(framework, i.id) for i in implementations_for(framework)
                      if i.op in SHIFT_OPS and getattr(i, "policy", None) is None]
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("framework,impl_id", _shift_cases())
@SETTINGS
@given(data=st.data())
def test_shift_invariance(framework, impl_id, dtype, data):
    impl = _impls(framework)[impl_id]
    n = data.draw(st.integers(1, 3), label="batch")
    c = data.draw(st.integers(2, 6), label="classes")
    x = _logits(data, dtype, n, c)
    shift = data.draw(st.integers(-64, 64), label="shift")
    inputs = {"x": x} if impl.op != "cross_entropy" else {"logits": x}
    if impl.op == "cross_entropy":
        inputs["target"] = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n),
                                                label="labels"))
        if impl.accepts is not None and not impl.accepts(inputs, _params(impl)):
            inputs["target"] = np.eye(c)[inputs["target"]].astype(np_dtype(dtype))
        if impl.accepts is not None and not impl.accepts(inputs, _params(impl)):
            pytest.skip("needs inputs this relation does not draw")
    shifted = dict(inputs)
    key = "x" if "x" in inputs else "logits"
    shifted[key] = (inputs[key].astype(np.float64) + shift).astype(np_dtype(dtype))
    params = _params(impl, reduction="none")
    va = impl.call(inputs, params, dtype, "cpu", ()).value
    vb = impl.call(shifted, params, dtype, "cpu", ()).value
    _check("shift_invariance", (impl_id,), va, vb, dtype, f"{impl_id}(x) vs {impl_id}(x + {shift})")


@pytest.mark.parametrize("dtype", DTYPES)
@SETTINGS
@given(data=st.data())
def test_torch_cross_entropy_is_nll_of_log_softmax(dtype, data):
    impls = _impls("torch")
    n = data.draw(st.integers(1, 4), label="batch")
    c = data.draw(st.integers(1, 6), label="classes")
    logits = _logits(data, dtype, n, c)
    labels = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n), label="labels"))
    ce = impls["torch.nn.functional.cross_entropy[class]"]
    lsm = impls["torch.nn.functional.log_softmax"]
    nll = impls["torch.nn.functional.nll_loss"]
    v_ce = ce.call({"logits": logits, "target": labels}, _params(ce), dtype, "cpu", ()).value
    logp = lsm.call({"x": logits}, _params(lsm, axis=1), dtype, "cpu", ()).value
    v_nll = nll.call({"logp": logp, "target": labels}, _params(nll), dtype, "cpu", ()).value
    _check("cross_entropy_vs_nll_log_softmax", ("torch.nn.functional.cross_entropy[class]",), v_ce, v_nll, dtype,
           "cross_entropy vs nll_loss(log_softmax)")


def _mean_sum_cases():
    cases = []
    for framework in ("torch", "tensorflow", "jax"):
        ok, _ = availability(framework)
        if not ok:
            continue
        for impl in implementations_for(framework):
            allowed = impl.params.get("reduction", ())
            if impl.op in MEAN_VS_SUM_OPS and (allowed is None or {"mean", "sum"} <= set(allowed)):
                cases.append((framework, impl.id))
    return cases


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("framework,impl_id", _mean_sum_cases())
@SETTINGS
@given(data=st.data())
def test_mean_is_sum_over_count(framework, impl_id, dtype, data):
    impl = _impls(framework)[impl_id]
    n = data.draw(st.integers(1, 5), label="batch")
    if impl.op in ("cross_entropy", "nll_loss"):
        c = data.draw(st.integers(2, 5), label="classes")
        x = _logits(data, dtype, n, c)
        labels = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n), label="labels"))
        name = "logits" if impl.op == "cross_entropy" else "logp"
        if impl.op == "nll_loss":
            x = -np.abs(x)
        inputs = {name: x, "target": labels}
        if impl.accepts is not None and not impl.accepts(inputs, _params(impl)):
            inputs["target"] = np.eye(c)[labels].astype(np_dtype(dtype))
    else:
        first = "x" if impl.op == "binary_cross_entropy_with_logits" else "p"
        raw = np.asarray(data.draw(st.lists(st.integers(1, 15), min_size=n, max_size=n), label="values")) / 16
        x = raw if first == "p" else (raw - 0.5) * 8
        y = np.asarray(data.draw(st.lists(st.sampled_from([0.0, 1.0, 0.5]), min_size=n, max_size=n), label="y"))
        inputs = {first: x.reshape(n, 1).astype(np_dtype(dtype)), "y": y.reshape(n, 1).astype(np_dtype(dtype))}
    if impl.accepts is not None and not impl.accepts(inputs, _params(impl, reduction="sum")):
        pytest.skip("needs inputs this relation does not draw")
    mean = impl.call(inputs, _params(impl, reduction="mean"), dtype, "cpu", ()).value
    total = impl.call(inputs, _params(impl, reduction="sum"), dtype, "cpu", ()).value
    judged = dtype
    if impl.policy is not None:  # a precision policy computes in another dtype: the relation holds in that one
        from conformance.judge.policy import budget_dtype, dtype_name, judged_dtype

        judged = budget_dtype(dtype, judged_dtype(dtype_name(mean), impl.policy))
    expected = (np.asarray(total, np.float64) / n).astype(np_dtype(judged))
    _check("mean_vs_sum_over_count", (impl_id,), mean, expected, judged,
           f"{impl_id}: mean vs sum / {n} (in {judged})")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("framework,logits_id,probs_id", FROM_LOGITS, ids=lambda v: str(v))
@SETTINGS
@given(data=st.data())
def test_from_logits_matches_probabilities(framework, logits_id, probs_id, dtype, data):
    impls = _impls(framework)
    n = data.draw(st.integers(1, 4), label="batch")
    x = (np.asarray(data.draw(st.lists(st.integers(-16, 16), min_size=n, max_size=n), label="x")) / 4)
    y = np.asarray(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n), label="y"))
    dt = np_dtype(dtype)
    p = (1 / (1 + np.exp(-x))).astype(dt)  # the probability input, rounded once to the dtype
    a, b = impls[logits_id], impls[probs_id]
    va = a.call({"x": x.astype(dt), "y": y.astype(dt)}, _params(a), dtype, "cpu", ()).value
    vb = b.call({"p": p, "y": y.astype(dt)}, _params(b), dtype, "cpu", ()).value
    # rounding sigmoid(x) moves the loss by at most |dL/dp| * u * p <= u / (1 - p) per element (|x| <= 4)
    tol = 64 * unit_roundoff(dtype) * (1 + float(np.max(np.abs(x)))) * float(np.max(1 / (1 - p.astype(float) + 1e-300)))
    assert abs(float(va) - float(vb)) <= tol, f"{logits_id} {float(va)!r} vs {probs_id} {float(vb)!r}"


MODE_ROWS = [  # (framework, implementation id, input names): a row per framework and op family
    ("torch", "torch.nn.functional.log_softmax", ("x",)),
    ("torch", "torch.nn.functional.cross_entropy[class]", ("logits", "labels")),
    ("torch", "torch.nn.functional.binary_cross_entropy_with_logits", ("x", "y")),
    ("jax", "jax.nn.log_softmax", ("x",)),
    ("jax", "optax.losses.softmax_cross_entropy_with_integer_labels", ("logits", "labels")),
    ("jax", "optax.losses.sigmoid_binary_cross_entropy", ("x", "y")),
    ("tensorflow", "tf.nn.log_softmax", ("x",)),
    ("tensorflow", "tf.nn.sparse_softmax_cross_entropy_with_logits", ("logits", "labels")),
    ("tensorflow", "tf.nn.sigmoid_cross_entropy_with_logits", ("x", "y")),
]
MODE_SETTINGS = settings(max_examples=3, deadline=None, database=None)


def _mode_case(data, impl, kind: tuple, dtype: str):
    """Inputs for a mode relation: logits on a grid, labels or targets in [0, 1]; reduction "none"."""
    n = data.draw(st.integers(1, 3), label="batch")
    c = data.draw(st.integers(2, 4), label="classes")
    x = _logits(data, dtype, n, c)
    if kind[1:] == ("labels",):
        labels = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n), label="labels"))
        inputs = {kind[0]: x, "target": labels}
    elif kind[1:] == ("y",):
        y = np.asarray(data.draw(st.lists(st.sampled_from([0.0, 0.25, 1.0]), min_size=n * c, max_size=n * c),
                                 label="y")).reshape(n, c)
        inputs = {kind[0]: x, "y": y.astype(np_dtype(dtype))}
    else:
        inputs = {kind[0]: x}
    return inputs, _params(impl, reduction="none", axis=impl.fixed_params.get("axis", -1))


def _direction(data, shape, dtype, label):
    vals = data.draw(st.lists(st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.0, 3.0]), min_size=int(np.prod(shape)),
                              max_size=int(np.prod(shape))), label=label)
    return np.asarray(vals, np.float64).reshape(shape).astype(np_dtype(dtype))


def _with_modes(impl, inputs, params, dtype, request):
    from conformance.adapters import modes

    grads = tuple(g for g in impl.grads if g in inputs and inputs[g].dtype.kind not in "iu")
    with modes.requested(request):
        return impl.call(inputs, params, dtype, "cpu", grads), grads


def _dot(a, b) -> float:
    return float(np.sum(np.asarray(a, np.float64) * np.asarray(b, np.float64)))


def _close_dots(a: float, b: float, scale: float, dtype: str, what: str):
    """Two float64 sums of the same exact quantity: within 64 u (sum of |terms|) of each other."""
    assert abs(a - b) <= 64 * unit_roundoff(dtype) * scale + 1e-300, f"{what}: {a!r} vs {b!r} (scale {scale:g})"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("framework,impl_id,kind", MODE_ROWS, ids=lambda v: str(v))
@MODE_SETTINGS
@given(data=st.data())
def test_vjp_jvp_dot_product(framework, impl_id, kind, dtype, data):
    """u^T (J_x t) = (J_x^T u)^T t for the framework's own vjp (cotangent u) and jvp (tangent t)."""
    impl = _impls(framework)[impl_id]
    inputs, params = _mode_case(data, impl, kind, dtype)
    name = kind[0]
    out_shape = np.shape(impl.call(inputs, params, dtype, "cpu", ()).value)
    u = _direction(data, out_shape, dtype, "u")
    t = _direction(data, inputs[name].shape, dtype, "t")
    got, _ = _with_modes(impl, inputs, params, dtype, {"cotangent": u, "tangents": {name: t}, "hvp": False})
    jt, vjp = got.derivs[f"jvp:{name}"], got.derivs[f"vjp:{name}"]
    left, right = _dot(u, jt), _dot(vjp, t)
    scale = _dot(np.abs(u.astype(np.float64)), np.abs(jt.astype(np.float64))) + \
        _dot(np.abs(vjp.astype(np.float64)), np.abs(t.astype(np.float64)))
    _unless_known("vjp_jvp_dot_product", (impl_id,), _close_dots, left, right, max(scale, 1.0), dtype, f"{impl_id}: u.(J t) vs (J^T u).t")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("framework,impl_id,kind", MODE_ROWS, ids=lambda v: str(v))
@MODE_SETTINGS
@given(data=st.data())
def test_hvp_is_symmetric(framework, impl_id, kind, dtype, data):
    """s^T (H_v t) = t^T (H_v s) over every differentiated input (the framework's own hvp, cotangent v)."""
    impl = _impls(framework)[impl_id]
    inputs, params = _mode_case(data, impl, kind, dtype)
    out_shape = np.shape(impl.call(inputs, params, dtype, "cpu", ()).value)
    v = _direction(data, out_shape, dtype, "v")
    names = tuple(g for g in impl.grads if g in inputs and inputs[g].dtype.kind not in "iu")
    t = {n: _direction(data, inputs[n].shape, dtype, f"t {n}") for n in names}
    s = {n: _direction(data, inputs[n].shape, dtype, f"s {n}") for n in names}
    ht, _ = _with_modes(impl, inputs, params, dtype, {"cotangent": v, "tangents": t, "hvp": True})
    hs, _ = _with_modes(impl, inputs, params, dtype, {"cotangent": v, "tangents": s, "hvp": True})
    left = sum(_dot(s[n], ht.derivs[f"hvp:{n}"]) for n in names)
    right = sum(_dot(t[n], hs.derivs[f"hvp:{n}"]) for n in names)
    scale = sum(_dot(np.abs(s[n].astype(float)), np.abs(ht.derivs[f"hvp:{n}"].astype(float))) +
                _dot(np.abs(t[n].astype(float)), np.abs(hs.derivs[f"hvp:{n}"].astype(float))) for n in names)
    _unless_known("hvp_symmetry", (impl_id,), _close_dots, left, right, max(scale, 1.0), dtype, f"{impl_id}: s.(H t) vs t.(H s)")
