"""reference.evaluate / reference.OPS as the rest of the project uses them, against docs/ops.md."""
from __future__ import annotations

import re
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import reference
from reference.errors import CaseError, UndefinedError
from reference.result import RefArray, RefResult

OPS_MD = Path(__file__).resolve().parents[2] / "docs" / "ops.md"


def _ops_md_table() -> dict[str, dict]:
    """op -> {param: default} from the catalog table of docs/ops.md."""
    table = {}
    for line in OPS_MD.read_text().splitlines():
        m = re.match(r"^\| `(\w+)` \|([^|]*)\|([^|]*)\|", line)
        if not m:
            continue
        params = {}
        for name, raw in re.findall(r"(\w+)=(\"[^\"]*\"|[^,()\s/]+)", m.group(3)):
            params[name] = _default(raw)
        table[m.group(1)] = params
    return table


def _default(raw: str):
    if raw.startswith('"'):
        return raw.strip('"')
    words = {"null": None, "false": False, "true": True, "e": "e"}
    return words[raw] if raw in words else float(raw)


def test_op_catalog_matches_docs_ops_md():
    table = _ops_md_table()
    assert set(table) == set(reference.OPS)
    for op, params in table.items():
        defaults = dict(reference.OPS[op].defaults)
        assert set(params) == set(reference.OPS[op].params), op  # optional params (where=) are null there
        for name, value in params.items():
            got = defaults.get(name)
            if isinstance(value, float):
                assert float(got) == value, (op, name)
            else:
                assert got == value, (op, name)


@pytest.mark.parametrize("op,inputs,differentiable", [
    ("softmax", ("x",), ("x",)), ("entropy", ("p",), ("p",)), ("cross_entropy_dist", ("p", "q"), ("p", "q")),
    ("cross_entropy", ("logits", "target"), ("logits", "target")), ("nll_loss", ("logp", "target"), ("logp",)),
    ("binary_cross_entropy", ("p", "y"), ("p", "y")), ("kl_div", ("input", "target"), ("input", "target")),
    ("softmax_focal_loss", ("logits", "target"), ("logits", "target")),
])
def test_specs_name_inputs_and_differentiable_ones(op, inputs, differentiable):
    spec = reference.OPS[op]
    assert spec.input_names == inputs and spec.differentiable == differentiable
    assert spec.doc and "grad" in spec.doc.lower()  # the formula lives in the docstring


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_result_types_and_shapes(dtype):
    r = reference.evaluate("cross_entropy", dtype, {"logits": np.ones((2, 3, 4)), "target": np.zeros((2, 4), int)},
                           {"reduction": "none"})
    assert isinstance(r, RefResult) and isinstance(r.value, RefArray)
    assert r.value.rounded.shape == (2, 4) and r.value.exact.shape == (2, 4)
    assert r.value.rounded.dtype == reference.dtypes.DTYPES[dtype].np_dtype
    assert r.value.cond.dtype == np.float64 and r.value.certified.dtype == bool
    assert set(r.grads) == {"logits"} and r.grads["logits"].rounded.shape == (2, 3, 4)
    assert r.precision_bits >= 53 and r.certified  # 53: certified by the float64 fast path (reference/fastpath/)


def test_labels_get_no_gradient_and_probabilities_do():
    x = np.array([[1.0, 2.0]])
    assert set(reference.evaluate("cross_entropy", "float32", {"logits": x, "target": [1]}).grads) == {"logits"}
    probs = reference.evaluate("cross_entropy", "float32", {"logits": x, "target": [[0.25, 0.75]]})
    assert set(probs.grads) == {"logits", "target"}
    labels = reference.evaluate("cross_entropy_dist", "float32", {"p": [1], "q": [[0.25, 0.75]]})
    assert set(labels.grads) == {"q"}


def test_inputs_of_another_format_are_rounded_once_into_the_case_dtype():
    third = np.array([1 / 3])
    a = reference.evaluate("log_sigmoid", "float16", {"x": third})
    b = reference.evaluate("log_sigmoid", "float16", {"x": third.astype(np.float16)})
    assert a.value.exact[0] == b.value.exact[0]
    c = reference.evaluate("log_sigmoid", "bfloat16", {"x": third.astype(ml_dtypes.bfloat16)})
    d = reference.evaluate("log_sigmoid", "bfloat16", {"x": [1 / 3]})
    assert c.value.exact[0] == d.value.exact[0] != a.value.exact[0]


def test_weights_are_rounded_into_the_case_dtype():
    x, y = np.array([[1.0, 2.0]]), np.array([0])
    a = reference.evaluate("cross_entropy", "float16", {"logits": x, "target": y}, {"weight": [0.1, 1.0],
                                                                                     "reduction": "sum"})
    b = reference.evaluate("cross_entropy", "float16", {"logits": x, "target": y},
                           {"weight": [float(np.float16(0.1)), 1.0], "reduction": "sum"})
    assert a.value.exact[()] == b.value.exact[()]


MALFORMED = [
    ("softmaxx", "float32", {"x": [1.0]}, {}, "unknown op"),
    ("softmax", "float8", {"x": [1.0]}, {}, "unknown dtype"),
    ("softmax", "float32", {"x": [1.0]}, {"dim": 0}, "unknown param"),
    ("softmax", "float32", {}, {}, "missing input"),
    ("softmax", "float32", {"x": [1.0]}, {"axis": 1}, "out of range"),
    ("entropy", "float32", {"p": [[0.5, 0.5]]}, {"base": 1}, "base"),
    ("cross_entropy", "float32", {"logits": [[1.0, 2.0]], "target": [0]}, {"reduction": "avg"}, "reduction"),
    ("cross_entropy", "float32", {"logits": [[1.0, 2.0]], "target": [0]}, {"label_smoothing": 1.5}, "label_smoothing"),
    ("cross_entropy", "float32", {"logits": [[1.0, 2.0]], "target": [0]}, {"weight": [1.0]}, "one entry per class"),
    ("cross_entropy", "float32", {"logits": [[1.0, 2.0]], "target": [0]}, {"weight": [1.0, "inf"]}, "finite"),
    ("cross_entropy", "float32", {"logits": [[1.0, 2.0]], "target": [0.5]}, {}, "integers"),
    ("cross_entropy", "float32", {"logits": [[1.0, 2.0]], "target": [[0, 1], [1, 0]]}, {}, "shape"),
    ("cross_entropy", "float32", {"logits": [[1.0, 2.0]], "target": [0]}, {"mean_denominator": "n"}, "mean_denominator"),
    ("binary_cross_entropy", "float32", {"p": [0.5], "y": [1.0, 0.0]}, {}, "same shape"),
    ("binary_cross_entropy", "float32", {"p": [0.5], "y": [1.0]}, {"clip": [0.9, 0.1]}, "lo <= hi"),
    ("kl_div", "float32", {"input": [0.5], "target": [1.0]}, {"reduction": "avg"}, "reduction"),
    ("kl_div", "float32", {"input": [0.5], "target": [1.0]}, {"log_target": "yes"}, "log_target"),
    ("sigmoid_focal_loss", "float32", {"x": [0.5], "y": [1.0]}, {"gamma": -1}, "gamma"),
    ("cross_entropy_dist", "float32", {"p": [[0.5, 0.5]], "q": [[0.5, 0.5]]}, {"normalize": "p"}, "normalize"),
    ("softmax", "float32", {"x": [["1", "x"]]}, {}, "malformed number"),
    ("softmax", "float32", {"x": np.array(["a"])}, {}, "numbers"),
]


@pytest.mark.parametrize("op,dtype,inputs,params,message", MALFORMED, ids=[m[4] for m in MALFORMED])
def test_malformed_cases_raise_case_error_with_one_clear_line(op, dtype, inputs, params, message):
    with pytest.raises(CaseError) as info:
        reference.evaluate(op, dtype, inputs, params)
    assert not isinstance(info.value, UndefinedError)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("op,inputs,params", [
    ("cross_entropy", {"logits": [[1.0, 2.0]], "target": [2]}, {}),
    ("cross_entropy", {"logits": [[1.0, 2.0]], "target": [-100]}, {"ignore_index": -1}),
    ("nll_loss", {"logp": [[-1.0, -2.0]], "target": [-1]}, {}),
    ("cross_entropy_dist", {"p": [5], "q": [[0.5, 0.5]]}, {}),
])
def test_out_of_range_labels_are_undefined(op, inputs, params):
    with pytest.raises(UndefinedError, match="outside"):
        reference.evaluate(op, "float32", inputs, params)
    assert issubclass(UndefinedError, CaseError)


@pytest.mark.parametrize("op,inputs", [("sigmoid", {"x": 0.5}), ("xlogy", {"x": 2.0, "y": 0.5}),
                                       ("binary_cross_entropy", {"p": 0.25, "y": 1.0}),
                                       ("kl_div", {"input": -1.0, "target": 0.5})])
def test_scalar_inputs_give_scalar_outputs(op, inputs):
    r = reference.evaluate(op, "float32", inputs, {"reduction": "none"} if op in ("binary_cross_entropy", "kl_div")
                           else {})
    assert r.value.rounded.shape == () and all(g.rounded.shape == () for g in r.grads.values())
    assert r.certified
