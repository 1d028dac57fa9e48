"""Builds small, schema-valid results dicts for the report tests (real runs come from the runner).

Exact reference values come from mpmath at 60 digits (not from float64 NumPy); the correctly rounded values
are those rounded to the dtype; observed values are the rounded ones moved by a chosen number of ULPs, so
every record's verdict is what the test wants it to be.

    build_results()                   several implementations, dtypes and verdicts, a minimal failing record,
                                      markup in an exception message and a detail, non-finite numbers as
                                      "inf"/"nan" strings
    build_results(variant="new")      the same run after an "upgrade": one injected regression (verdict
                                      worse), one ULP growth, one new exception, one improvement
    build_results(variant="gpu")      torch cross_entropy on device "cuda" only, another machine's run
"""
from __future__ import annotations

import copy
from collections import Counter

import ml_dtypes
import mpmath
import numpy as np

mpmath.mp.dps = 60

MARKUP = "<script>alert(1)</script><b>x</b>"
IMG_MARKUP = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
DTYPES = ("float64", "float32", "float16", "bfloat16")
NP = {"float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}
UINT = {8: np.uint64, 4: np.uint32, 2: np.uint16}


# ---- numbers -------------------------------------------------------------------------------------------

def js(x: float):
    """A float as results.json stores it: a number, or "inf"/"-inf"/"nan"."""
    x = float(x)
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return x


def rnd(v, dtype: str) -> float:
    """mpmath value -> nearest float64 -> dtype (double rounding is fine for fixtures)."""
    return float(np.array(float(v), dtype=np.float64).astype(NP[dtype]))


def exact(v) -> str:
    if mpmath.isnan(v):
        return "nan"
    if mpmath.isinf(v):
        return "inf" if v > 0 else "-inf"
    return mpmath.nstr(v, 35, strip_zeros=False) if v != 0 else "0"


def move_ulps(x: float, k: int, dtype: str) -> float:
    """x moved by k representable steps of dtype (away from zero)."""
    if k == 0 or x != x or x in (float("inf"), float("-inf")):
        return x
    a = np.array([x], dtype=np.float64).astype(NP[dtype])
    u = a.view(UINT[a.dtype.itemsize])
    u += k
    return float(a.astype(np.float64)[0])


def tensor(dtype, shape, values):
    return {"dtype": dtype, "shape": list(shape), "data": [js(v) if isinstance(v, float) else v for v in values]}


def ref_tensor(dtype, shape, values_mp):
    return {"dtype": dtype, "shape": list(shape), "exact": [exact(v) for v in values_mp],
            "rounded": [js(rnd(v, dtype)) for v in values_mp]}


# ---- exact ops (mpmath) ---------------------------------------------------------------------------------

def softmax_mp(x):
    xs = [mpmath.mpf(v) for v in x]
    m = max(xs)
    e = [mpmath.exp(v - m) for v in xs]
    s = mpmath.fsum(e)
    return [v / s for v in e]


def cross_entropy_mp(logits, n, c, labels):
    """mean over n items of -log_softmax(logits)[y]; gradient (softmax - onehot) / n."""
    loss, grad = mpmath.mpf(0), []
    for i in range(n):
        row = logits[i * c:(i + 1) * c]
        p = softmax_mp(row)
        loss += -mpmath.log(p[labels[i]])
        grad += [(p[j] - (1 if j == labels[i] else 0)) / n for j in range(c)]
    return [loss / n], grad


def bce_mp(p, y, clip=None):
    ps = [mpmath.mpf(v) for v in p]
    if clip:
        ps = [min(max(v, mpmath.mpf(clip[0])), mpmath.mpf(clip[1])) for v in ps]
    n = len(ps)
    loss = -mpmath.fsum(yi * mpmath.log(pi) + (1 - yi) * mpmath.log(1 - pi) for pi, yi in zip(ps, y)) / n
    grad = [-(yi / pi - (1 - yi) / (1 - pi)) / n for pi, yi in zip(ps, y)]
    return [loss], grad


# ---- records ---------------------------------------------------------------------------------------------

def record(impl, framework, op, dtype, case_id, inputs, params, value_mp, out_shape, grads_mp=None,
           verdict="accurate", value_ulps=0, grad_ulps=0, device="cpu", **extra):
    """One record; observed = correctly rounded reference moved by value_ulps / grad_ulps."""
    ref = {"certified": verdict != "uncertified", "value": ref_tensor(dtype, out_shape, value_mp), "grad": {}}
    obs_value = [move_ulps(rnd(v, dtype), value_ulps, dtype) for v in value_mp]
    obs = {"value": tensor(dtype, out_shape, obs_value), "grad": {}}
    ulp = {"value": value_ulps, "grad": {}}
    ratio = {"value": value_ulps / 8.0, "grad": {}}
    for name, g in (grads_mp or {}).items():
        shape = inputs[name]["shape"]
        ref["grad"][name] = ref_tensor(dtype, shape, g)
        obs["grad"][name] = tensor(dtype, shape, [move_ulps(rnd(v, dtype), grad_ulps, dtype) for v in g])
        ulp["grad"][name] = grad_ulps
        ratio["grad"][name] = grad_ulps / 8.0
    r = {
        "kind": "record", "cell": f"{impl}|{dtype}|{device}", "implementation": impl, "framework": framework,
        "framework_version": VERSIONS.get(framework), "op": op, "dtype": dtype, "device": device,
        "case_id": case_id, "source": "catalog", "params": params, "inputs": inputs,
        "reference": ref, "observed": obs, "exception": None, "ulp": ulp, "bound_ratio": ratio,
        "verdict": verdict, "part": None if verdict == "accurate" else "value",
        "detail": "within budget" if verdict == "accurate" else f"{verdict} by {value_ulps} ulp",
        "convention": None, "known_divergence": None, "unexpected": False, "minimal": False,
        "seed": 1234, "elapsed_s": 0.001,
    }
    r.update(extra)
    return r


def no_output(r, verdict, exception=None, detail=""):
    r.update(observed=None, ulp={}, bound_ratio={}, verdict=verdict, part=None, exception=exception,
             detail=detail or verdict)
    if verdict in ("crashed", "timeout", "error_behaviour_mismatch", "special_value_mismatch", "inaccurate"):
        r["unexpected"] = not r.get("known_divergence")
    return r


VERSIONS = {"torch": "2.13.0", "jax": "0.10.2", "tensorflow": "2.21.0", "numpy": "2.4.6"}

CE_CASES = {  # case_id -> (logits N x C, labels)
    "ce-basic": ([0.5, -1.25, 2.0, 3.0, 0.0, -0.75], [2, 0]),
    "ce-huge-logits": ([1000.0, 1000.5, 999.25, -3.0, 7.5, 7.25], [1, 2]),
    "ce-tiny-diff": ([1.0, 1.0009765625, 0.9990234375, 0.0, 0.0, 0.0], [0, 1]),
}


def ce_records(impl, framework, params, device="cpu", overrides=None):
    out = []
    for dtype in DTYPES:
        for case_id, (logits, labels) in CE_CASES.items():
            lg = [rnd(v, dtype) for v in logits]
            value, grad = cross_entropy_mp(lg, 2, 3, labels)
            inputs = {"logits": tensor(dtype, (2, 3), lg), "target": tensor("int64", (2,), labels)}
            kw = dict((overrides or {}).get((dtype, case_id), {}))
            out.append(record(impl, framework, "cross_entropy", dtype, case_id, inputs, dict(params), value, (),
                              {"logits": grad}, device=device, **kw))
    return out


def base_records():
    recs = []
    torch_ce = "torch.nn.functional.cross_entropy"
    recs += ce_records(torch_ce, "torch", {"axis": 1, "reduction": "mean"}, overrides={
        ("float32", "ce-tiny-diff"): dict(verdict="stable", value_ulps=3, part="value",
                                          detail="beyond the ULP budget, within the bound"),
        ("float16", "ce-huge-logits"): dict(verdict="inaccurate", value_ulps=37, unexpected=True, minimal=True,
                                            detail="value off by 37 ulp"),
        ("float16", "ce-tiny-diff"): dict(verdict="inaccurate", value_ulps=12, unexpected=True,
                                          detail="value off by 37 ulp"),
    })
    # an exception whose message is markup: must render as text
    bad = record(torch_ce, "torch", "cross_entropy", "bfloat16", "ce-bad-label",
                 {"logits": tensor("bfloat16", (1, 3), [0.0, 1.0, 2.0]), "target": tensor("int64", (1,), [7])},
                 {"axis": 1, "reduction": "mean"}, [mpmath.nan], ())
    recs.append(no_output(bad, "error_behaviour_mismatch", {"type": "IndexError", "message": f"Target 7 is out of "
                                                            f"bounds. {MARKUP}"},
                          detail="raised where the reference defines a value"))
    optax_ce = "optax.losses.softmax_cross_entropy_with_integer_labels"
    recs += ce_records(optax_ce, "jax", {"axis": -1, "reduction": "mean"}, overrides={
        ("float16", "ce-huge-logits"): dict(
            verdict="special_value_mismatch", value_ulps=0, part="value", known_divergence="optax-fp16-overflow",
            detail="inf where the reference is finite"),
    })
    for r in recs:
        if r["verdict"] == "special_value_mismatch":
            r["observed"]["value"]["data"] = ["inf"]
            r["ulp"]["value"] = "inf"
            r["bound_ratio"]["value"] = "inf"

    # binary_cross_entropy: keras clips (convention), torch has an uncertified case
    keras_bce = "keras.losses.BinaryCrossentropy(from_logits=False)"
    torch_bce = "torch.nn.functional.binary_cross_entropy"
    for dtype in ("float64", "float32"):
        p = [rnd(v, dtype) for v in (0.25, 1e-9, 0.5)]
        y = [1.0, 1.0, 0.0]
        inputs = {"p": tensor(dtype, (3,), p), "y": tensor(dtype, (3,), y)}
        value, grad = bce_mp(p, y)
        cv, _ = bce_mp(p, y, clip=(1e-7, 1 - 1e-7))
        r = record(keras_bce, "tensorflow", "binary_cross_entropy", dtype, "bce-tiny-p", inputs,
                   {"reduction": "mean"}, value, (), {"p": grad}, verdict="convention", part="value",
                   detail="matches the clipped reference", convention="clip_eps_1e-7", value_ulps=0)
        r["reference"]["convention_value"] = ref_tensor(dtype, (), cv)
        r["observed"]["value"]["data"] = [js(rnd(cv[0], dtype))]
        recs.append(r)
        recs.append(record(torch_bce, "torch", "binary_cross_entropy", dtype, "bce-tiny-p", inputs,
                           {"reduction": "mean", "log_clamp": -100}, value, (), {"p": grad}))
    recs.append(torch_bce_clamped())
    unc = record(torch_bce, "torch", "binary_cross_entropy", "float32", "bce-edge", {
        "p": tensor("float32", (2,), [0.5, 0.99999994]), "y": tensor("float32", (2,), [1.0, 0.0])},
        {"reduction": "mean", "log_clamp": -100}, [mpmath.mpf("8.6643397569993163677")], (),
        verdict="uncertified", detail="the enclosure straddles a rounding boundary")
    recs.append(unc)

    # softmax: scipy (value only, float16/bfloat16 unsupported), jax (one crash, one timeout, non-finite input)
    for impl, framework, grads in (("scipy.special.softmax", "numpy", False), ("jax.nn.softmax", "jax", True)):
        for dtype in DTYPES:
            x = [rnd(v, dtype) for v in (0.0, 1.5, -2.0)]
            val = softmax_mp(x)
            inputs = {"x": tensor(dtype, (3,), x)}
            r = record(impl, framework, "softmax", dtype, "softmax-small", inputs, {"axis": -1}, val, (3,),
                       {"x": [mpmath.mpf(0)] * 3} if grads else None)
            if framework == "numpy" and dtype in ("float16", "bfloat16"):
                no_output(r, "unsupported", detail=f"scipy computes in float64; {dtype} not supported")
            if framework == "jax" and dtype == "float32":
                no_output(r, "crashed", {"type": "WorkerCrashed", "message": "worker died with signal 11 (SIGSEGV)"})
            if framework == "jax" and dtype == "float16":
                no_output(r, "timeout", None, detail=f"no result within 30 s {IMG_MARKUP}")
            recs.append(r)
        # a non-finite input: reference nan, observed nan (accurate), numbers stored as strings
        nf = record(impl, framework, "softmax", "float64", "softmax-nan-inf",
                    {"x": tensor("float64", (3,), [float("inf"), float("-inf"), float("nan")])}, {"axis": -1},
                    [mpmath.nan] * 3, (3,))
        nf["observed"]["value"]["data"] = ["nan", "nan", "nan"]
        nf["ulp"]["value"] = 0
        recs.append(nf)
    return recs


def torch_bce_clamped():
    """torch BCE float32 at p = the smallest subnormal, y = 1, as a real run records it: the loss 100 (each log
    clamped at -100, convention log_clamp_-100; exact 103.27893) and the gradient -1e12 where the exact one is
    -7.1e44 (rounds to -inf): a known divergence, its detail printing the float32 observation as float64."""
    torch_bce = "torch.nn.functional.binary_cross_entropy"
    p = float(np.float32(1e-45))
    inputs = {"p": tensor("float32", (1,), [p]), "y": tensor("float32", (1,), [1.0])}
    value, grad = bce_mp([p], [1.0])
    r = record(torch_bce, "torch", "binary_cross_entropy", "float32", "bce(p=denorm_min,y=1)", inputs,
               {"reduction": "mean", "log_clamp": None}, value, (), {"p": grad}, verdict="special_value_mismatch",
               part="grad:p", convention="log_clamp_-100", known_divergence="torch-bce-backward-epsilon",
               detail=f"at (0,): got -999999995904.0, reference -inf (exact {exact(grad[0])})", minimal=False)
    r["observed"]["value"]["data"] = [100.0]
    r["observed"]["grad"]["p"]["data"] = [float(np.float32(-1e12))]
    r["ulp"] = {"value": 0.0, "grad": {"p": "inf"}}
    r["bound_ratio"] = {"value": 0.0, "grad": {"p": "inf"}}
    r["reference"]["conventions"] = {"log_clamp_-100": {
        "value": ref_tensor("float32", (), [mpmath.mpf(100)]),
        "grad": {"p": ref_tensor("float32", (1,), [mpmath.mpf(0)])}}}
    return r


KNOWN_ENTRIES = [
    {"id": "optax-fp16-overflow", "implementation": "optax.losses.*", "dtypes": ["float16"],
     "verdicts": ["special_value_mismatch"], "reason": "float16 logits near 1000 overflow in exp",
     "link": "https://github.com/google-deepmind/optax/issues/0000", "versions": ">=0.2"},
    {"id": "torch-bce-backward-epsilon", "implementation": "torch.nn.functional.binary_cross_entropy",
     "verdicts": ["inaccurate", "special_value_mismatch"], "parts": ["grad:p"],
     "reason": f"BCELoss's backward divides by max(p (1 - p), 1e-12) {MARKUP}",
     "link": "https://github.com/pytorch/pytorch/issues/171327"},
    {"id": "torch-bf16-nll-old", "implementation": "torch.nn.functional.nll_loss", "verdicts": ["inaccurate"],
     "reason": "an entry this run did not reach", "link": "javascript:alert(3)"},
]


IMPLEMENTATIONS = [
    {"id": "torch.nn.functional.cross_entropy", "framework": "torch", "version": "2.13.0", "op": "cross_entropy",
     "dtypes": list(DTYPES), "devices": ["cpu"], "grads": ["logits"], "fixed_params": {"axis": 1},
     "bad_labels": "raises", "link": "https://pytorch.org/docs/stable/generated/torch.nn.functional.cross_entropy.html",
     "conventions": [{"key": "prob_target_mean_count", "description": "Probability targets: mean divides by the "
                      "number of items, not the weight sum.", "link": "https://pytorch.org/docs/stable/generated/"
                      "torch.nn.CrossEntropyLoss.html", "ref_params": {"mean_denominator": "count"}}]},
    {"id": "optax.losses.softmax_cross_entropy_with_integer_labels", "framework": "jax", "version": "0.10.2",
     "op": "cross_entropy", "dtypes": list(DTYPES), "devices": ["cpu"], "grads": ["logits"],
     "fixed_params": {"axis": -1}, "bad_labels": "garbage", "link": "https://optax.readthedocs.io/", "conventions": []},
    {"id": "keras.losses.BinaryCrossentropy(from_logits=False)", "framework": "tensorflow", "version": "2.21.0",
     "op": "binary_cross_entropy", "dtypes": ["float64", "float32", "float16", "bfloat16"], "devices": ["cpu"],
     "grads": ["p"], "fixed_params": {}, "bad_labels": None, "link": "https://keras.io/api/losses/",
     "conventions": [{"key": "clip_eps_1e-7", "description": f"Probabilities are clipped to [1e-7, 1 - 1e-7] "
                      f"{MARKUP}", "link": "https://github.com/keras-team/keras/blob/master/keras/src/backend/"
                      "tensorflow/nn.py", "ref_params": {"clip": [1e-7, 0.9999999]}}]},
    {"id": "torch.nn.functional.binary_cross_entropy", "framework": "torch", "version": "2.13.0",
     "op": "binary_cross_entropy", "dtypes": list(DTYPES), "devices": ["cpu"], "grads": ["p"],
     "fixed_params": {"log_clamp": -100}, "bad_labels": None, "link": "javascript:alert(2)",
     "conventions": [{"key": "log_clamp_-100", "description": "Each log term is clamped at -100.",
                      "link": "https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html",
                      "ref_params": {"log_clamp": -100}}]},
    {"id": "scipy.special.softmax", "framework": "numpy", "version": "scipy 1.16", "op": "softmax",
     "dtypes": ["float64", "float32"], "devices": ["cpu"], "grads": [], "conventions": []},
    {"id": "jax.nn.softmax", "framework": "jax", "version": "0.10.2", "op": "softmax", "dtypes": list(DTYPES),
     "devices": ["cpu"], "grads": ["x"], "conventions": []},
]

RUN = {
    "kind": "header", "schema_version": 1, "started": "2026-11-24T06:00:00Z", "finished": "2026-11-24T06:03:20Z",
    "duration_s": 200.5, "profile": "quick", "seed": 1234, "argv": ["python", "-m", "conformance", "run"],
    "python": "3.11.2", "platform": "Linux-6.1-x86_64-with-glibc2.36", "cpu": "AMD EPYC 7B13 (2 cores)",
    "gpu": None, "tf32": False,
    "frameworks": {"torch": "2.13.0", "tensorflow": "2.21.0", "keras": "3.15.0", "jax": "0.10.2",
                   "optax": "0.2.8", "scipy": "1.16.0"},
    "skipped_frameworks": {"cupy": "not installed"},
}


def summarize(records):
    return {"total": len(records), "by_verdict": dict(Counter(r["verdict"] for r in records)),
            "unexpected": sum(1 for r in records if r["unexpected"])}


def _find(records, impl, dtype, case_id):
    return next(r for r in records if r["implementation"] == impl and r["dtype"] == dtype and r["case_id"] == case_id)


def build_results(variant: str = "base") -> dict:
    records = base_records()
    run = copy.deepcopy(RUN)
    impls = copy.deepcopy(IMPLEMENTATIONS)
    if variant == "new":
        run.update(started="2026-11-25T06:00:00Z", finished="2026-11-25T06:03:00Z")
        run["frameworks"]["torch"] = "2.14.0"
        # injected regression: accurate -> inaccurate
        r = _find(records, "torch.nn.functional.cross_entropy", "float32", "ce-basic")
        r.update(verdict="inaccurate", unexpected=True, part="value", detail="value off by 40 ulp")
        r["ulp"]["value"] = 40
        r["observed"]["value"]["data"] = [v * (1 + 40 * 2 ** -23) for v in r["observed"]["value"]["data"]]
        # ULP growth with the same verdict: 3 -> 30
        r = _find(records, "torch.nn.functional.cross_entropy", "float32", "ce-tiny-diff")
        r["ulp"]["value"] = 30
        r["observed"]["value"]["data"] = [v * (1 + 2 ** -18) for v in r["observed"]["value"]["data"]]
        # a new exception
        r = _find(records, "torch.nn.functional.binary_cross_entropy", "float64", "bce-tiny-p")
        no_output(r, "error_behaviour_mismatch", {"type": "RuntimeError", "message": "all elements of input "
                                                  "should be between 0 and 1"})
        # improvement: the known float16 overflow is fixed
        r = _find(records, "optax.losses.softmax_cross_entropy_with_integer_labels", "float16", "ce-huge-logits")
        r.update(verdict="accurate", part=None, detail="within budget", known_divergence=None)
        r["observed"]["value"]["data"] = list(r["reference"]["value"]["rounded"])
        r["ulp"]["value"] = 0
    elif variant == "gpu":
        records = ce_records("torch.nn.functional.cross_entropy", "torch", {"axis": 1, "reduction": "mean"},
                             device="cuda")
        impls = [dict(impls[0], devices=["cpu", "cuda"])]
        run.update(started="2026-11-24T07:00:00Z", finished="2026-11-24T07:01:00Z", duration_s=60.0,
                   gpu="NVIDIA H100 80GB HBM3", cpu="Intel Xeon Platinum (16 cores)",
                   frameworks={"torch": "2.13.0+cu128"}, skipped_frameworks={"tensorflow": "not installed"})
    for r in records:
        r["cell"] = f"{r['implementation']}|{r['dtype']}|{r['device']}"
    run.pop("kind")
    return {"schema_version": 1, "run": run, "implementations": impls, "records": records,
            "known_divergences": {"matched": ["optax-fp16-overflow", "torch-bce-backward-epsilon"],
                                  "fixed_upstream": [], "unmatched": ["torch-bf16-nll-old"],
                                  "entries": copy.deepcopy(KNOWN_ENTRIES)},
            "summary": summarize(records)}


def to_jsonl(results: dict) -> str:
    import json

    header = dict(results["run"], kind="header", schema_version=results["schema_version"],
                  implementations=results["implementations"])
    lines = [json.dumps(header)] + [json.dumps(dict(r, kind="record")) for r in results["records"]]
    return "\n".join(lines) + "\n"
