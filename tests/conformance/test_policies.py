"""Keras on the JAX and torch backends and precision policies (issue 14 part A): a backend cell runs in its
own worker and records its backend; a policy row is judged in the dtype it returns (an injected policy bug is
caught, a correct one passes); an unsupported dtype is an `unsupported` record with its reason; the profiles
choose the variant rows (quick none, ci a sample, named implementations all)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from conformance.adapters.implementation import Implementation, Observed
from conformance.cases.case import Case
from conformance.execute.cell_runner import CellContext, call_and_compare, make_record, run_cell
from conformance.execute.reference_cache import ReferenceCache, op_defaults
from conformance.judge import policy
from conformance.plan import variant_plan
from tests.installed_helpers import needs

ROOT = Path(__file__).resolve().parents[2]


class _Stub:
    """A worker whose implementation is a Python function of the inputs (no process)."""

    def __init__(self, fn):
        self.fn = fn

    def call(self, impl_id, inputs, params, dtype, device, grads, **_):
        return "ok", self.fn(inputs, grads)


def _sigmoid_in(compute: str, returned: str, grad_dtype: str):
    """sigmoid computed in `compute` (float64 rounded to it), returned as `returned`, gradient as grad_dtype."""
    def fn(inputs, grads):
        x = inputs["x"].astype(np.float64)
        y = (1.0 / (1.0 + np.exp(-x))).astype(compute)
        g = (y.astype(np.float64) * (1.0 - y.astype(np.float64))).astype(compute)
        return Observed(y.astype(returned), {"x": g.astype(grad_dtype)} if grads else {})
    return fn


def _row(policy_name="floatx", **extra):
    return Implementation(id=f"test.sigmoid[policy={policy_name}]", framework="numpy", op="sigmoid",
                          call=lambda *a, **k: None, dtypes=("float64", "float32", "float16", "bfloat16"),
                          grads=("x",), policy=policy_name, **extra)


def _judge(impl, fn, x, dtype):
    refs = ReferenceCache()
    case = Case("c", "sigmoid", dtype, {"x": x}, op_defaults("sigmoid"))
    ref = refs.get(case.op, case.dtype, case.inputs, case.params)
    return call_and_compare(impl, _Stub(fn), refs, case, ref, "cpu")[2]


X16 = np.array([-3.0, -0.5, 0.25, 1.5, 7.0], dtype=np.float16)
X32 = np.array([-3.1, -0.51, 0.26, 1.57, 7.3], dtype=np.float32)


def test_a_policy_result_is_judged_in_the_dtype_it_returns():
    # floatx: float16 inputs, float32 value, float16 gradient: each part judged in its own dtype
    good = _judge(_row(), _sigmoid_in("float32", "float32", "float16"), X16, "float16")
    assert good.verdict in ("accurate", "stable"), good.detail
    assert good.judged_dtypes == {"value": "float32"}
    # a float64 gradient cast back from a float32 computation is judged in float32 (the policy's compute dtype)
    good64 = _judge(_row(), _sigmoid_in("float32", "float32", "float64"), X32.astype(np.float64), "float64")
    assert good64.verdict in ("accurate", "stable"), good64.detail
    assert good64.judged_dtypes == {"value": "float32", "grad:x": "float32"}


def test_an_injected_policy_bug_is_caught():
    # float32 inputs under floatx, computed in float16 but returned as float32: beyond float32's budget
    bad = _judge(_row(), _sigmoid_in("float16", "float32", "float32"), X32, "float32")
    assert bad.verdict == "inaccurate" and bad.part in ("value", "grad:x"), bad.detail
    # the same computation judged as a plain row would only see a dtype it did not expect: the policy row
    # names the dtype it was judged in (none here: float32 is the case dtype)
    assert not bad.judged_dtypes


def test_budget_is_that_of_the_less_precise_dtype():
    assert policy.budget_dtype("bfloat16", "float32") == "bfloat16"
    assert policy.budget_dtype("float32", "float16") == "float16"
    assert policy.judged_dtype("float64", "floatx") == "float32"
    assert policy.judged_dtype("float32", "autocast_bfloat16") == "float32"
    assert policy.judged_dtype("float32", "mixed_bfloat16") == "bfloat16"


def test_an_unsupported_dtype_is_an_unsupported_record_with_its_reason():
    impl = _row("autocast_bfloat16", unsupported_dtypes={"float64": "autocast leaves float64 alone"})
    ctx = CellContext(impl=impl, framework="numpy", version="x", dtype="float64", device="cpu",
                      worker=_Stub(None), refs=ReferenceCache())
    [record] = run_cell(ctx)
    assert record["verdict"] == "unsupported"
    assert "autocast leaves float64 alone" in record["detail"]
    assert record["policy"] == "autocast_bfloat16"


def test_records_carry_backend_and_policy():
    impl = _row()
    ctx = CellContext(impl=impl, framework="numpy", version="x", dtype="float16", device="cpu",
                      worker=_Stub(None), refs=ReferenceCache())
    case = Case("c", "sigmoid", "float16", {"x": X16}, {})
    from conformance.judge.verdict import Comparison

    record = make_record(ctx, case, None, "skipped", None, Comparison("unsupported"), 0.0)
    assert record["policy"] == "floatx" and "backend" not in record


def _fake(id, framework="keras_jax", op="cross_entropy", policy_name=None):
    return Implementation(id=id, framework=framework, op=op, call=None, policy=policy_name,
                          dtypes=("float64", "float32", "float16", "bfloat16"))


def test_profiles_choose_the_variant_rows():
    a = _fake("keras.losses.A@jax")
    b = _fake("keras.losses.B@jax")
    c = _fake("keras.ops.softmax@jax", op="softmax")
    p = _fake("keras.losses.A[policy=floatx]", framework="tensorflow", policy_name="floatx")
    plain = _fake("keras.losses.A", framework="tensorflow")
    tf_rows, jax_rows = (plain, p), (a, b, c)  # two worker groups
    assert variant_plan.runs(plain, tf_rows, "float32", "quick")
    assert not variant_plan.runs(p, tf_rows, "float32", "quick")
    assert not any(variant_plan.runs(i, jax_rows, "float32", "quick") for i in jax_rows)
    assert [i.id for i in tf_rows if variant_plan.runs(i, tf_rows, "float16", "ci")] == [plain.id, p.id]
    assert variant_plan.runs(p, tf_rows, "float64", "ci")  # its turn's dtype (the first floatx row)
    assert not variant_plan.runs(p, tf_rows, "float32", "ci")  # floatx: the half dtypes (POLICY_SAMPLE) + its turn
    # the first cross_entropy row of the backend at float32 (BACKEND_SAMPLE); besides, each row in its turn's
    # dtype (sample_turn: a float64, b float32, c float16)
    assert [i.id for i in jax_rows if variant_plan.runs(i, jax_rows, "float32", "ci")] == [a.id, b.id]
    assert [i.id for i in jax_rows if variant_plan.runs(i, jax_rows, "float16", "ci")] == [c.id]
    assert [i.id for i in jax_rows if variant_plan.runs(i, jax_rows, "bfloat16", "ci")] == []
    assert set(variant_plan.POLICY_SAMPLE) == set(policy.POLICIES)  # every policy is sampled
    assert {d for ds in variant_plan.POLICY_SAMPLE.values() for d in ds} == {"float64", "float32", "float16",
                                                                            "bfloat16"}
    assert all(variant_plan.runs(i, jax_rows, "float16", "thorough") for i in jax_rows)
    assert all(variant_plan.runs(i, jax_rows, "float16", "quick", explicit=True) for i in jax_rows)


@needs("torch")
def test_keras_backend_cells_run_in_their_own_worker_and_record_the_backend(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--profile", "quick", "--examples", "1",
         "--no-cache", "--frameworks", "keras_jax", "keras_torch", "--dtypes", "float32",
         "--implementations", "keras.ops.sigmoid@*", "--out", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    records = json.loads((out / "results.json").read_text())["records"]
    assert {(r["framework"], r["backend"]) for r in records} == {("keras_jax", "jax"), ("keras_torch", "torch")}, \
        result.stderr[-2000:]
    assert all(r["verdict"] not in ("crashed", "timeout", "error_behaviour_mismatch") for r in records)
    assert any(r["observed"] and r["observed"]["grad"] for r in records)  # gradients by the backend's autodiff
    page = (out / "index.html").read_text()  # the report's filter bar filters by Keras backend
    assert 'id="f-backend"' in page and '"b": "jax"' in page and '"b": "torch"' in page


def test_a_known_divergence_of_a_row_covers_its_policy_rows():
    from conformance.judge import known
    from conformance.judge.severity import FAILING
    from conformance.results.stream import tensor_json

    def rec(impl, policy_name):
        value = tensor_json(np.asarray([0.0]))
        out = {"implementation": impl, "framework": "tensorflow", "op": "cross_entropy", "dtype": "float32",
               "device": "cpu", "case_id": "ce(all ignored,mean)", "framework_version": "tensorflow 2.21.0",
               "params": {}, "verdict": "special_value_mismatch", "part": "value", "detail": "",
               "inputs": {}, "observed": {"value": value, "grad": {}},
               "reference": {"certified": True, "value": {**value, "rounded": ["nan"], "exact": ["nan"]}, "grad": {}},
               "failing_elements": {"value": [0]}}
        if policy_name:
            out["policy"] = policy_name
        return out

    entries = known.load()
    base = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
    covered = rec(f"{base}[policy=floatx]", "floatx")
    known.classify(covered, entries, FAILING)
    assert covered["known_divergence"] == "keras-all-ignored-mean-is-zero"
    other = rec(f"{base}[policy=floatx]", None)  # the suffix alone, without the record's policy: not covered
    known.classify(other, entries, FAILING)
    assert other["known_divergence"] is None


def test_backend_rows_declare_the_backends_own_behaviour():
    from conformance.adapters import implementations_for

    jax_rows = {i.id: i for i in implementations_for("keras_jax")}
    torch_rows = {i.id: i for i in implementations_for("keras_torch")}
    sparse = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
    assert jax_rows[sparse + "@jax"].bad_labels == "zero"  # jax.nn.one_hot: a zero row
    assert torch_rows[sparse + "@torch"].bad_labels == "raises"  # F.cross_entropy raises
    assert {i.backend for i in jax_rows.values()} == {"jax"} and {i.framework for i in torch_rows.values()} == \
        {"keras_torch"}
    bce = {c.key for c in torch_rows["keras.losses.BinaryCrossentropy(from_logits=False)@torch"].conventions}
    assert "raises_if_p_or_y_outside_0_1" in bce and "clip_float16_log_clamp_-100" in bce
    jax_bce = {c.key for c in jax_rows["keras.losses.BinaryCrossentropy(from_logits=False)@jax"].conventions}
    assert not any("log_clamp" in k for k in jax_bce)
