"""What the per-framework adapter tests (test_{jax,numpy,tensorflow,torch}_adapter.py) share: small dyadic inputs
(exact in every dtype), the rows of one adapter by id, and the checks of the contract of
conformance/adapters/implementation.py that every adapter passes the same way. Expected values are exact-arithmetic
facts (softmax of equal logits is 1/2, cross-entropy of equal logits is log C), never another framework's output.
"""
from __future__ import annotations

import math

import numpy as np

from conformance.floats import np_dtype

LOGITS = [[0.0, 1.0, -2.0], [3.0, 0.5, 0.0]]
PROBS = [[0.25, 0.25, 0.5], [0.5, 0.25, 0.25]]
LABELS = [2, 0]  # one per row of LOGITS


def arr(values, dtype: str) -> np.ndarray:
    """`values` in `dtype` (they are dyadic: exact there)."""
    return np.asarray(values, dtype=np.float64).astype(np_dtype(dtype))


def int_labels(values=LABELS) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def rows_by_id(adapter) -> dict:
    """The adapter's plain rows by id (rows under a precision policy: tests/conformance/test_policies.py)."""
    return {impl.id: impl for impl in adapter.implementations() if impl.policy is None}


def ids_without(monkeypatch, adapter, module, *attrs: str) -> set[str]:
    """The adapter's row ids once `module` lacks `attrs`, as an older release of the library does (a row whose
    loss is missing is not declared, instead of failing the whole adapter)."""
    for attr in attrs:
        monkeypatch.delattr(module, attr, raising=False)
    return {impl.id for impl in adapter.implementations()}


def check_module_interface(adapter, framework: str) -> list:
    """The module-level contract: name, availability, CPU first, unique ids, a link on every row. Returns the rows."""
    assert adapter.FRAMEWORK == framework
    assert adapter.available() is True
    assert adapter.devices()[0] == "cpu"
    impls = adapter.implementations()
    assert len({impl.id for impl in impls}) == len(impls)
    assert all(impl.framework == framework and impl.link.startswith("https://") for impl in impls)
    return impls


def check_declared_dtype(impl, dtype: str, sample, call) -> None:
    """`dtype` is declared, and a call in it on the row's sample (`sample(id, dtype)` -> inputs, params, value
    shape) gives the value and every declared gradient in that dtype (check_value_and_grads_in_dtype)."""
    assert dtype in impl.dtypes
    inputs, params, shape = sample(impl.id, dtype)
    check_value_and_grads_in_dtype(impl, call(impl.id, inputs, params, dtype, impl.grads), inputs, shape)


def check_value_and_grads_in_dtype(impl, observed, inputs: dict, shape: tuple) -> None:
    """A call in a declared dtype gives an ndarray value of `shape` in the dtype of the row's first differentiable
    input (no promotion), and each declared gradient in its input's shape and dtype."""
    assert isinstance(observed.value, np.ndarray)
    assert observed.value.shape == shape
    assert observed.value.dtype == inputs[impl.grads[0]].dtype
    assert set(observed.grads) == set(impl.grads)
    for name, grad in observed.grads.items():
        assert grad.shape == inputs[name].shape, name
        assert grad.dtype == inputs[name].dtype, name


def check_equal_logits_give_halves(observed, grad: bool = True) -> None:
    """softmax((0, 0)) = (1/2, 1/2) exactly, and (with `grad`) d(sum softmax)/dx = 0."""
    assert observed.value.astype(np.float64).tolist() == [0.5, 0.5]
    if grad:
        assert observed.grads["x"].astype(np.float64).tolist() == [0.0, 0.0]


def equal_logits_inputs(impl, dtype: str, classes: int = 5) -> dict:
    """3 rows of equal logits over `classes` classes, with labels or their one-hot rows (what `impl` accepts)."""
    target = int_labels([0, classes - 1, 2])
    if not impl.accepts({"target": target}, {}):
        target = arr(np.eye(classes)[target], dtype)
    return {"logits": arr(np.full((3, classes), 7.0), dtype), "target": target}


def check_log_c(value, dtype: str, classes: int = 5) -> None:
    """Cross-entropy of equal logits is log C for every label (whatever the smoothing), to 4 eps."""
    assert np.all(np.abs(np.asarray(value, dtype=np.float64) - math.log(classes))
                  <= 4 * np.finfo(dtype).eps * math.log(classes))


def empty_batch() -> dict:
    """No items: (0, 3) logits and (0,) labels."""
    return {"logits": arr(np.zeros((0, 3)), "float64"), "target": np.zeros((0,), dtype=np.int64)}


def check_empty_batch(observed) -> None:
    """An empty batch is passed as is: a (0,) loss and a (0, 3) gradient, not an error or a cleaned value."""
    assert observed.value.shape == (0,)
    assert observed.grads["logits"].shape == (0, 3)
