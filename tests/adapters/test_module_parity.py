"""torch's module forms (torch.nn.CrossEntropyLoss, ...) and torch.special / top-level aliases against the
torch.nn.functional row they mirror: the same values and gradients, bit for bit, on the same inputs in every
dtype and reduction (issue 17). A difference is reported element by element, not hidden."""
from __future__ import annotations

import numpy as np
import pytest

import reference
from conformance.floats import round_to_dtype

torch = pytest.importorskip("torch")

from conformance.adapters import torch_adapter  # noqa: E402

F = "torch.nn.functional."
PAIRS = {
    "torch.nn.CrossEntropyLoss[class]": F + "cross_entropy[class]",
    "torch.nn.CrossEntropyLoss[probs]": F + "cross_entropy[probs]",
    "torch.nn.NLLLoss": F + "nll_loss",
    "torch.nn.BCELoss": F + "binary_cross_entropy",
    "torch.nn.BCEWithLogitsLoss": F + "binary_cross_entropy_with_logits",
    "torch.nn.KLDivLoss": F + "kl_div",
    "torch.nn.Softmax": F + "softmax",
    "torch.nn.LogSoftmax": F + "log_softmax",
    "torch.nn.Sigmoid": "torch.sigmoid",
    "torch.nn.LogSigmoid": F + "logsigmoid",
    "torch.special.softmax": F + "softmax",
    "torch.special.log_softmax": F + "log_softmax",
    "torch.special.expit": "torch.sigmoid",
    "torch.softmax": F + "softmax",
    "torch.log_softmax": F + "log_softmax",
    F + "sigmoid": "torch.sigmoid",
    "torch.xlogy": "torch.special.xlogy",
    "torch.nn.SoftMarginLoss[y=2t-1]": F + "soft_margin_loss[y=2t-1]",
    "torch.nn.MultiLabelSoftMarginLoss": F + "multilabel_soft_margin_loss",
    "torch.nn.LinearCrossEntropyLoss": F + "linear_cross_entropy",
    "torch.nn.LinearCrossEntropyLoss[chunked]": F + "linear_cross_entropy[chunked]",
}
ROWS = {impl.id: impl for impl in torch_adapter.implementations()}


def _inputs(op: str, dtype: str, rng, probs_target: bool) -> dict:
    """Inputs in the reference's vocabulary, shape (N=4, C=5), with values at the edges (0, 1, +-large)."""
    x = round_to_dtype(np.concatenate([rng.standard_normal((3, 5)) * 4, [[0.0, 30.0, -30.0, 1e-3, -1e-3]]]), dtype)
    p = rng.random((4, 5))
    p[0, :2] = [0.0, 1.0]
    p = round_to_dtype(p, dtype)
    labels = np.array([0, 4, 2, 1], dtype=np.int64)
    y = round_to_dtype((rng.random((4, 5)) > 0.5).astype(np.float64), dtype)
    dist = rng.random((4, 5))
    dist = round_to_dtype(dist / dist.sum(-1, keepdims=True), dtype)
    return {
        "softmax": {"x": x}, "log_softmax": {"x": x}, "sigmoid": {"x": x}, "log_sigmoid": {"x": x},
        "cross_entropy": {"logits": x, "target": dist if probs_target else labels},
        "nll_loss": {"logp": round_to_dtype(-np.abs(x.astype(np.float64)), dtype), "target": labels},
        "binary_cross_entropy": {"p": p, "y": y},
        "binary_cross_entropy_with_logits": {"x": x, "y": y},
        "multilabel_soft_margin_loss": {"x": x, "y": y},
        "kl_div": {"input": round_to_dtype(-np.abs(x.astype(np.float64)), dtype), "target": dist},
        "xlogy": {"x": p, "y": round_to_dtype(p[::-1].astype(np.float64), dtype)},
        "linear_cross_entropy": {"input": x[:, :3], "linear_weight": round_to_dtype(x[1:4, 2:].astype(np.float64) / 4, dtype),
                                 "linear_bias": x[0, 1:4], "target": np.array([0, 2, 1, 1], dtype=np.int64)},
    }[op]


def _params(impl, reduction: str) -> list[dict]:
    base = {**reference.OPS[impl.op].defaults, **impl.fixed_params}
    if impl.op in ("softmax", "log_softmax"):
        return [{**base, "axis": 1}, {**base, "axis": 0}]
    if "reduction" not in impl.params:
        return [base]
    out = [{**base, "reduction": reduction}]
    if "weight" in impl.params:
        out.append({**base, "reduction": reduction, "weight": [0.5, 1.0, 2.0, 0.25, 3.0] if impl.op in (
            "cross_entropy", "nll_loss") else [0.5, 2.0, 0.25] if impl.op == "linear_cross_entropy" else 2.0})
    if "label_smoothing" in impl.params:
        out.append({**base, "reduction": reduction, "label_smoothing": 0.1})
    if "ignore_index" in impl.params:
        out.append({**base, "reduction": reduction, "ignore_index": 2})
    if "log_target" in impl.params:
        out.append({**base, "reduction": reduction, "log_target": True})
    return out


def _differences(a, b) -> str:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return f"shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
    if a.dtype.kind == "f" or str(a.dtype) == "bfloat16":
        bits_a = a.view(np.uint16 if a.itemsize == 2 else np.uint32 if a.itemsize == 4 else np.uint64)
        bits_b = b.view(bits_a.dtype)
        same = (bits_a == bits_b) | (np.isnan(a.astype(np.float64)) & np.isnan(b.astype(np.float64)))
    else:
        same = a == b
    if same.all():
        return ""
    idx = np.argwhere(~same)[:3].tolist()
    return f"{int((~same).sum())} elements differ, e.g. at {idx}: {a[~same][:3]} vs {b[~same][:3]}"


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("module_id", sorted(PAIRS))
def test_module_form_matches_its_functional_form_bit_for_bit(module_id, reduction, dtype):
    module, functional = ROWS[module_id], ROWS[PAIRS[module_id]]
    assert module.op == functional.op and module.params == functional.params
    assert [c.key for c in module.conventions] == [c.key for c in functional.conventions]
    rng = np.random.default_rng(17)
    inputs = _inputs(module.op, dtype, rng, probs_target=module_id.endswith("[probs]"))
    if module.accepts is not None:
        assert module.accepts(inputs, {}) and functional.accepts(inputs, {})
    for params in _params(module, reduction):
        got = module.call(inputs, params, dtype, "cpu", module.grads)
        want = functional.call(inputs, params, dtype, "cpu", functional.grads)
        problems = {"value": _differences(got.value, want.value)}
        for name in module.grads:
            problems[f"grad:{name}"] = _differences(got.grads[name], want.grads[name])
        problems = {k: v for k, v in problems.items() if v}
        assert not problems, f"{module_id} vs {functional.id} with {params}: {problems}"


def test_a_different_kernel_is_reported():
    """The comparison can fail: log_softmax against softmax differs everywhere."""
    x = np.linspace(-3, 3, 10).reshape(2, 5)
    a = ROWS[F + "softmax"].call({"x": x}, {"axis": 1}, "float64", "cpu", ())
    b = ROWS[F + "log_softmax"].call({"x": x}, {"axis": 1}, "float64", "cpu", ())
    assert _differences(a.value, b.value).startswith("10 elements differ")
