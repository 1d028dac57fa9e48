"""NumPy-ecosystem adapter: scipy.special, scipy.stats.entropy and sklearn.metrics.log_loss as
Implementations (contract: conformance/adapters/implementation.py; ops: docs/ops.md).

Value only: these functions have no autodiff, so every implementation declares grads=(). The inputs are
passed exactly as the case gives them (numpy arrays in the case dtype, bfloat16 as ml_dtypes.bfloat16); what
the function returns is handed back with the dtype it has (several functions upcast low-precision inputs,
which the comparison notes). Exceptions propagate.
"""
from __future__ import annotations

import importlib.util
import math

import numpy as np

from conformance.adapters import installed
from conformance.adapters.implementation import Convention, Implementation, Observed
from reference.dtypes import DTYPE_NAMES

FRAMEWORK = "numpy"

SCIPY_DOCS = "https://docs.scipy.org/doc/scipy/reference/generated/"
ENTROPY_DOCS = SCIPY_DOCS + "scipy.stats.entropy.html"
LOG_LOSS_DOCS = "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.log_loss.html"
LOG_LOSS_SOURCE = "https://github.com/scikit-learn/scikit-learn/blob/main/sklearn/metrics/_classification.py"
CHECK_ARRAY_DOCS = "https://scikit-learn.org/stable/modules/generated/sklearn.utils.check_array.html"
ALL_DTYPES = DTYPE_NAMES
NUMPY_DTYPES = ("float64", "float32", "float16")  # scipy.stats.entropy raises TypeError on ml_dtypes.bfloat16


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available() -> bool:
    return _has("scipy") or _has("sklearn")


def version() -> str:
    """From package metadata for scipy and scikit-learn (adapters/installed.py): neither is imported."""
    parts = [f"numpy {np.__version__}"]
    if _has("scipy"):
        parts.append(f"scipy {installed.version_of('scipy', 'scipy')}")
    if _has("sklearn"):
        parts.append(f"scikit-learn {installed.version_of('sklearn', 'scikit-learn')}")
    return ", ".join(parts)


def devices() -> list[str]:
    return ["cpu"]


def _base(params: dict) -> float | None:
    """The reference's `base` as scipy's: None (natural log) for e, else the number."""
    base = params.get("base")
    if base is None or base == "e" or base == math.e:
        return None
    return float(base)


def _axis(params: dict) -> int:
    return int(params.get("axis", -1))


# ---------------------------------------------------------------------------------------------------------
# scipy


def call_softmax(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.softmax(inputs["x"], axis=_axis(params))))


def call_log_softmax(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.log_softmax(inputs["x"], axis=_axis(params))))


def call_xlogy(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.xlogy(inputs["x"], inputs["y"])))


def call_rel_entr(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.rel_entr(inputs["x"], inputs["y"])))


def call_kl_div(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.kl_div(inputs["x"], inputs["y"])))


def call_expit(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.expit(inputs["x"])))


def call_entr(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.entr(inputs["x"])))


def call_xlog1py(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.xlog1py(inputs["x"], inputs["y"])))


def call_logsumexp(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.logsumexp(inputs["x"], axis=_axis(params))))


def call_log_expit(inputs, params, dtype, device, grads):
    from scipy import special

    return Observed(np.asarray(special.log_expit(inputs["x"])))


def call_entropy(inputs, params, dtype, device, grads):
    """H(p) = -sum(pk log pk) / log(base), pk = p / sum(p) along axis."""
    from scipy import stats

    return Observed(np.asarray(stats.entropy(inputs["p"], base=_base(params), axis=_axis(params))))


def call_entropy_kl(inputs, params, dtype, device, grads):
    """KL(p||q) = sum(pk log(pk / qk)) / log(base), pk = p / sum(p), qk = q / sum(q) along axis."""
    from scipy import stats

    return Observed(np.asarray(stats.entropy(inputs["p"], inputs["q"], base=_base(params), axis=_axis(params))))


# ---------------------------------------------------------------------------------------------------------
# sklearn.metrics.log_loss


def _is_one_hot(p: np.ndarray) -> bool:
    values = p.astype(np.float64)
    return bool(np.all((values == 0) | (values == 1)) and np.all(np.sum(values == 1, axis=-1) == 1))


def log_loss_accepts(inputs: dict, params: dict) -> bool:
    """log_loss takes q of shape (N, C) with C >= 2 ("only defined for two or more labels"), true classes
    as int labels (N,) or an exactly one-hot p (N, C), and reduces: mean (normalize=True) or sum."""
    p, q = inputs["p"], inputs["q"]
    if params.get("reduction", "none") not in ("mean", "sum") or q.ndim != 2 or q.shape[1] < 2:
        return False
    if np.issubdtype(p.dtype, np.integer):
        return p.shape == q.shape[:1]
    return p.shape == q.shape and _is_one_hot(p)


def call_log_loss(inputs, params, dtype, device, grads):
    """-(1/N or 1) sum_n log clip(q[n, y_n], eps, 1 - eps), eps = finfo(q's dtype after check_array).eps."""
    from sklearn.metrics import log_loss

    p, q = inputs["p"], inputs["q"]
    labels = p if np.issubdtype(p.dtype, np.integer) else np.argmax(p, axis=-1).astype(np.int64)
    value = log_loss(labels, q, normalize=params.get("reduction") == "mean", labels=np.arange(q.shape[1]))
    return Observed(np.asarray(value))  # log_loss returns a Python float: float64 whatever q's dtype


def _q_dtype_is(name: str):
    return lambda inputs, params: inputs["q"].dtype.name == name


def _clip_convention(dtype: str) -> Convention:
    computed_in = "float64" if dtype == "bfloat16" else dtype
    eps = float(np.finfo(computed_in).eps)
    one_minus_eps = float(np.asarray(1, dtype=computed_in) - np.finfo(computed_in).eps)
    if dtype == "bfloat16":
        description = ("check_array converts bfloat16 q to float64 (the first of its float dtypes), so q is "
                       f"clipped to [eps, 1 - eps] with float64's eps = {eps!r}.")
        link = CHECK_ARRAY_DOCS
    else:
        description = f"q is clipped to [eps, 1 - eps] with eps = finfo({dtype}).eps = {eps!r}."
        link = LOG_LOSS_DOCS
    return Convention(key=f"clip_finfo_eps[{dtype}]", description=description, link=link,
                      ref_params={"clip": [eps, one_minus_eps]}, applies=_q_dtype_is(dtype))


LOG_LOSS_CONVENTIONS = tuple(_clip_convention(dtype) for dtype in ALL_DTYPES) + (
    Convention(
        key="unnormalised_q_warns_only",
        description="q rows that do not sum to 1 (within rtol sqrt(eps)) only raise a UserWarning (1.9.1 "
                    "source); q is used as given, not renormalised.",
        link=LOG_LOSS_SOURCE,
    ),
)
def _log_loss_rejects(inputs: dict, params: dict) -> bool:
    """What sklearn's input validation refuses: no samples, a non-finite q, or q outside [0, 1]."""
    q = np.asarray(inputs["q"]).astype(np.float64)
    return q.shape[0] == 0 or bool(np.any(~np.isfinite(q))) or bool(np.any((q < 0) | (q > 1)))


LOG_LOSS_CONVENTIONS += (
    Convention(
        key="validates_input",
        description="check_array raises ValueError for an empty batch ('Found array with 0 sample(s)') or a "
                    "non-finite q, and log_loss raises for q outside [0, 1], instead of returning a value.",
        link=CHECK_ARRAY_DOCS,
        applies=_log_loss_rejects,
        raises=True,
    ),
)
ENTROPY_NORMALIZES = Convention(
    key="normalizes_pk",
    description="entropy(pk) divides pk by its sum along axis first.",
    link=ENTROPY_DOCS,
    ref_params={"normalize": True},
)
ENTROPY_KL_NORMALIZES = Convention(
    key="normalizes_pk_and_qk",
    description="entropy(pk, qk) divides pk and qk by their sums along axis first.",
    link=ENTROPY_DOCS,
    ref_params={"normalize": "both"},
)


# ---------------------------------------------------------------------------------------------------------
# the implementations


def implementations() -> list[Implementation]:
    def impl(id, op, call, dtypes, link, **fields) -> Implementation:
        from conformance.adapters.execution import FRAMEWORK_MEMORY

        return Implementation(id=id, framework=FRAMEWORK, op=op, call=call, dtypes=dtypes, link=link,
                              memory_layouts=FRAMEWORK_MEMORY["numpy"], **fields)

    impls = []
    if _has("scipy"):
        impls += [
            impl("scipy.special.softmax", "softmax", call_softmax, ALL_DTYPES,
                 SCIPY_DOCS + "scipy.special.softmax.html", params={"axis": None}),
            impl("scipy.special.log_softmax", "log_softmax", call_log_softmax, ALL_DTYPES,
                 SCIPY_DOCS + "scipy.special.log_softmax.html", params={"axis": None}),
            impl("scipy.special.xlogy", "xlogy", call_xlogy, ALL_DTYPES, SCIPY_DOCS + "scipy.special.xlogy.html"),
            impl("scipy.special.rel_entr", "rel_entr", call_rel_entr, ALL_DTYPES,
                 SCIPY_DOCS + "scipy.special.rel_entr.html"),
            impl("scipy.special.kl_div", "generalized_kl", call_kl_div, ALL_DTYPES,
                 SCIPY_DOCS + "scipy.special.kl_div.html"),
            impl("scipy.special.expit", "sigmoid", call_expit, ALL_DTYPES, SCIPY_DOCS + "scipy.special.expit.html"),
            impl("scipy.special.log_expit", "log_sigmoid", call_log_expit, ALL_DTYPES,
                 SCIPY_DOCS + "scipy.special.log_expit.html"),
            impl("scipy.special.entr", "entr", call_entr, ALL_DTYPES, SCIPY_DOCS + "scipy.special.entr.html"),
            impl("scipy.special.xlog1py", "xlog1py", call_xlog1py, ALL_DTYPES,
                 SCIPY_DOCS + "scipy.special.xlog1py.html"),
            impl("scipy.special.logsumexp", "logsumexp", call_logsumexp, ALL_DTYPES,
                 SCIPY_DOCS + "scipy.special.logsumexp.html", params={"axis": None}),
            impl("scipy.stats.entropy(pk)", "entropy", call_entropy, NUMPY_DTYPES, ENTROPY_DOCS,
                 params={"axis": None, "base": None, "normalize": (True,)}, conventions=(ENTROPY_NORMALIZES,)),
            impl("scipy.stats.entropy(pk, qk)", "kl_divergence", call_entropy_kl, NUMPY_DTYPES, ENTROPY_DOCS,
                 params={"axis": None, "base": None, "normalize": ("both",)},
                 conventions=(ENTROPY_KL_NORMALIZES,)),
        ]
    if _has("sklearn"):
        impls.append(
            impl("sklearn.metrics.log_loss", "cross_entropy_dist", call_log_loss, ALL_DTYPES, LOG_LOSS_DOCS,
                 params={"reduction": ("mean", "sum")}, fixed_params={"axis": -1},
                 conventions=LOG_LOSS_CONVENTIONS, bad_labels="raises", accepts=log_loss_accepts))
    return impls
