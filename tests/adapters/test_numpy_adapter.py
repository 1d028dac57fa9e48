"""The numpy/scipy/sklearn adapter keeps the contract of conformance/adapters/implementation.py and declares only what
those functions do. Expected values are exact-arithmetic facts, never another framework's output.
"""
from __future__ import annotations

import math
import warnings

import ml_dtypes
import numpy as np
import pytest


pytest.importorskip("scipy")
pytest.importorskip("sklearn")

from conformance.adapters import numpy_adapter as adapter  # noqa: E402
from conformance.adapters.implementation import DTYPES  # noqa: E402
from tests.adapters import adapter_helpers as shared  # noqa: E402
from tests.adapters.adapter_helpers import LOGITS, arr  # noqa: E402

IMPLS = shared.rows_by_id(adapter)
LOG_LOSS = "sklearn.metrics.log_loss"


# Small cases with dyadic values (exact in every dtype): impl id -> (inputs, params, value shape).
def sample(impl_id: str, dtype: str):
    x = arr(LOGITS, dtype)
    p = arr([[0.25, 0.25, 0.5], [0.5, 0.0, 0.5]], dtype)
    q = arr([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]], dtype)
    cases = {
        "scipy.special.softmax": ({"x": x}, {"axis": -1}, (2, 3)),
        "scipy.special.log_softmax": ({"x": x}, {"axis": 0}, (2, 3)),
        "scipy.special.xlogy": ({"x": p, "y": q}, {}, (2, 3)),
        "scipy.special.rel_entr": ({"x": p, "y": q}, {}, (2, 3)),
        "scipy.special.kl_div": ({"x": p, "y": q}, {}, (2, 3)),
        "scipy.special.expit": ({"x": x}, {}, (2, 3)),
        "scipy.special.log_expit": ({"x": x}, {}, (2, 3)),
        "scipy.special.entr": ({"x": p}, {}, (2, 3)),
        "scipy.special.xlog1py": ({"x": p, "y": q}, {}, (2, 3)),
        "scipy.special.logsumexp": ({"x": x}, {"axis": -1}, (2,)),
        "scipy.stats.entropy(pk)": ({"p": p}, {"axis": -1, "base": "e"}, (2,)),
        "scipy.stats.entropy(pk, qk)": ({"p": p, "q": q}, {"axis": -1, "base": 2}, (2,)),
        LOG_LOSS: ({"p": np.array([2, 0], dtype=np.int64), "q": q}, {"axis": -1, "reduction": "mean"}, ()),
    }
    return cases[impl_id]


def call(impl_id, inputs, params, dtype="float64"):
    impl = IMPLS[impl_id]
    return impl.call(inputs, {**impl.fixed_params, **params}, dtype, "cpu", ())


def test_module_interface():
    impls = shared.check_module_interface(adapter, "numpy")
    assert len(impls) == 13
    assert "scipy " in adapter.version() and "scikit-learn " in adapter.version()
    assert adapter.devices() == ["cpu"]
    assert all(impl.grads == () for impl in impls)  # value only: no autodiff here


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("impl_id", sorted(IMPLS))
def test_declared_dtypes_are_accepted_and_undeclared_ones_raise(impl_id, dtype):
    inputs, params, shape = sample(impl_id, dtype)
    if dtype not in IMPLS[impl_id].dtypes:
        with pytest.raises(TypeError):
            call(impl_id, inputs, params, dtype)
        return
    value = call(impl_id, inputs, params, dtype).value
    assert isinstance(value, np.ndarray)
    assert value.shape == shape
    assert value.dtype.kind == "f" or value.dtype == np.dtype(ml_dtypes.bfloat16)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_upcasts_are_what_the_report_says(dtype):
    """The dtype each function returns is kept as is; these are the upcasts the report describes."""
    inputs, params, _ = sample("scipy.special.xlogy", dtype)
    assert call("scipy.special.xlogy", inputs, params, dtype).value.dtype == np.float64
    assert call("scipy.special.rel_entr", inputs, params, dtype).value.dtype == np.float32
    assert call("scipy.special.kl_div", inputs, params, dtype).value.dtype == np.float32
    softmax_inputs, softmax_params, _ = sample("scipy.special.softmax", dtype)
    assert call("scipy.special.softmax", softmax_inputs, softmax_params, dtype).value.dtype == softmax_inputs["x"].dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_equal_logits_is_exactly_one_half(dtype):
    observed = call("scipy.special.softmax", {"x": arr([0.0, 0.0], dtype)}, {"axis": -1}, dtype)
    shared.check_equal_logits_give_halves(observed, grad=False)


def test_xlogy_and_rel_entr_are_zero_at_x_zero():
    inputs = {"x": arr([0.0, 0.0], "float64"), "y": arr([0.0, 2.0], "float64")}
    assert call("scipy.special.xlogy", inputs, {}).value.tolist() == [0.0, 0.0]
    assert call("scipy.special.rel_entr", inputs, {}).value.tolist() == [0.0, 0.0]


def test_entropy_of_uniform_over_four_is_two_bits_and_normalizes():
    # p = (3, 3, 3, 3) is not a distribution; scipy normalizes it to 1/4 each: H = log2(4) = 2 exactly.
    impl = IMPLS["scipy.stats.entropy(pk)"]
    value = call(impl.id, {"p": arr([3.0, 3.0, 3.0, 3.0], "float64")}, {"axis": -1, "base": 2}).value
    assert abs(float(value) - 2.0) <= 4 * np.finfo(np.float64).eps
    assert impl.conventions[0].ref_params == {"normalize": True}


def test_entropy_kl_of_proportional_arguments_is_zero():
    # p = (1, 2), q = (2, 4): both normalize to (1/3, 2/3), so KL = 0.
    inputs = {"p": arr([1.0, 2.0], "float64"), "q": arr([2.0, 4.0], "float64")}
    value = call("scipy.stats.entropy(pk, qk)", inputs, {"axis": -1}).value
    assert abs(float(value)) <= 4 * np.finfo(np.float64).eps


def test_log_loss_of_uniform_q_is_log_c():
    inputs = {"p": np.array([0, 1, 2], dtype=np.int64), "q": arr(np.full((3, 3), 0.25), "float64")}
    # q rows sum to 3/4: sklearn warns and uses q as given; -log(1/4) = log 4 per item.
    with pytest.warns(UserWarning):
        mean = call(LOG_LOSS, inputs, {"reduction": "mean"}).value
        total = call(LOG_LOSS, inputs, {"reduction": "sum"}).value
    assert abs(float(mean) - math.log(4)) <= 4 * np.finfo(np.float64).eps
    assert abs(float(total) - 3 * math.log(4)) <= 8 * np.finfo(np.float64).eps


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_loss_clip_convention_matches_behaviour(dtype):
    """q = 0 at the true class: the loss is -log(lo) for the declared clip [lo, hi] of that dtype."""
    impl = IMPLS[LOG_LOSS]
    inputs = {"p": np.array([0], dtype=np.int64), "q": arr([[0.0, 1.0]], dtype)}
    applicable = [c for c in impl.conventions if c.applies is not None and c.applies(inputs, {})]
    assert len(applicable) == 1
    lo, hi = applicable[0].ref_params["clip"]
    computed_in = np.float64 if dtype == "bfloat16" else np.dtype(dtype)
    assert lo == np.finfo(computed_in).eps and hi == 1 - lo
    value = call(LOG_LOSS, inputs, {"reduction": "mean"}, dtype).value
    assert value.dtype == np.float64  # log_loss returns a Python float
    assert abs(float(value) + math.log(lo)) <= 4 * float(np.finfo(computed_in).eps) * -math.log(lo)


@pytest.mark.parametrize("label", [3, -1])
def test_log_loss_raises_on_a_label_outside_the_classes(label):
    assert IMPLS[LOG_LOSS].bad_labels == "raises"
    inputs = {"p": np.array([0, label], dtype=np.int64), "q": arr([[0.5, 0.25, 0.25]] * 2, "float64")}
    with pytest.raises(ValueError):
        call(LOG_LOSS, inputs, {"reduction": "mean"})


def test_log_loss_one_hot_p_equals_labels():
    q = arr([[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]], "float32")
    one_hot = {"p": arr([[0, 0, 1], [1, 0, 0]], "float32"), "q": q}
    labels = {"p": np.array([2, 0], dtype=np.int64), "q": q}
    params = {"axis": -1, "reduction": "sum"}
    assert IMPLS[LOG_LOSS].accepts(one_hot, params) and IMPLS[LOG_LOSS].accepts(labels, params)
    assert call(LOG_LOSS, one_hot, params, "float32").value == call(LOG_LOSS, labels, params, "float32").value


def test_log_loss_accepts_only_what_it_can_express():
    accepts = IMPLS[LOG_LOSS].accepts
    q = arr([[0.5, 0.5]], "float64")
    assert not accepts({"p": arr([[0.5, 0.5]], "float64"), "q": q}, {"reduction": "mean"})  # soft p
    assert not accepts({"p": np.array([0]), "q": q}, {"reduction": "none"})  # no per-item losses
    assert not accepts({"p": np.array([0]), "q": arr([[1.0]], "float64")}, {"reduction": "mean"})  # C = 1
    assert not accepts({"p": np.array([0]), "q": arr([0.5, 0.5], "float64")}, {"reduction": "mean"})  # 1-D q


def test_log_loss_exceptions_propagate_for_q_outside_0_1():
    inputs = {"p": np.array([0], dtype=np.int64), "q": arr([[1.5, -0.5]], "float64")}
    with warnings.catch_warnings(), pytest.raises(ValueError):
        warnings.simplefilter("ignore")
        call(LOG_LOSS, inputs, {"reduction": "mean"})
