"""JAX (jax.nn) and optax.losses as implementations under test.

Layout: jax.nn and optax take the class axis last by default, like the reference's `axis=-1`. Rows whose
function takes `axis=` (jax.nn and jax.scipy.special softmax / log_softmax, optax.losses.softmax_cross_entropy
and softmax_cross_entropy_with_integer_labels) declare params {"axis": None} and get the class axis at every
position (a static argument of the jit); the others declare fixed_params {"axis": -1}. Nothing is moved.

float64 needs `jax_enable_x64`, switched on when the adapter first imports jax. Inputs are placed on the
case's device with jax.device_put, bit for bit in the case dtype (bfloat16 as ml_dtypes.bfloat16).

Each row is a pure function f(arrays, static) -> array. It runs under jax.jit, compiled once per (row,
static params, input names, wanted gradients) and then once per input shape/dtype by jit itself; static
params (label smoothing, alpha, gamma) are Python floats, so they stay weakly typed and never promote a
float16 computation. Gradients: out, pullback = jax.vjp(f, *wanted); grads = pullback(ones_like(out)),
i.e. grad[x] = d sum(out) / dx.

Custom kernels (conformance/adapters/custom.py, --signature jax): each row's function is called through a named
library function (ROW_FUNCTIONS); `call(..., fn=user_fn)` runs the row with the user's function in its place,
called exactly as the row calls the library function (e.g. fn(logits, labels) for
optax.losses.softmax_cross_entropy), under the same jit and vjp.
"""
from __future__ import annotations

import functools
import os
from typing import Callable

import numpy as np

from conformance.adapters import jax_modes, modes
from conformance.adapters.implementation import DTYPES, Convention, Implementation, Observed, input_is_float, input_is_int

FRAMEWORK = "jax"

JAX_DOCS = "https://docs.jax.dev/en/latest/_autosummary/"
OPTAX_DOCS = "https://optax.readthedocs.io/en/latest/api/losses.html#optax.losses."


@functools.lru_cache(maxsize=None)
def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    # TF32 / bf16 matmul passes stay off unless the run asked for them (--tf32)
    tf32 = os.environ.get("CE_CONFORMANCE_TF32") == "1"
    jax.config.update("jax_default_matmul_precision", "tensorfloat32" if tf32 else "highest")
    cache = compile_cache_dir(jax.__version__)
    if cache is not None:  # compiled programs persist across runs and workers (same results, less compiling)
        jax.config.update("jax_compilation_cache_dir", str(cache))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return jax


def compile_cache_dir(jax_version: str):
    """JAX's persistent compilation cache for this jax version: CE_CONFORMANCE_JAX_CACHE (a directory, or 0
    to turn it off), else ~/.cache/ce-conformance/jax-compile-<version> ($XDG_CACHE_HOME respected). It is
    JAX's own cache of programs this user's runs compiled (like ~/.cache/jax), never data from a results
    file; a new jax version gets a new directory."""
    from pathlib import Path

    setting = os.environ.get("CE_CONFORMANCE_JAX_CACHE")
    if setting is not None and setting.strip() in ("", "0"):
        return None
    if setting:
        return Path(setting).expanduser() / f"jax-{jax_version}"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ce-conformance" / f"jax-compile-{jax_version}"


@functools.lru_cache(maxsize=None)
def _optax():
    _jax()
    import optax

    return optax


def available() -> bool:
    try:
        _optax()
    except ImportError:
        return False
    return True


def version() -> str:
    return f"jax {_jax().__version__}, optax {_optax().__version__}"


def _gpus() -> list:
    try:
        return _jax().devices("gpu")
    except RuntimeError:
        return []


def devices() -> list[str]:
    return ["cpu", "cuda"] if _gpus() else ["cpu"]


def _device(name: str):
    return _gpus()[0] if name == "cuda" else _jax().devices("cpu")[0]


def _optax_src() -> str:
    return f"https://github.com/google-deepmind/optax/blob/v{_optax().__version__}/optax/losses/_classification.py"


# ----------------------------------------------------------------------------------------------- running

ROWS: dict[str, Callable] = {}  # implementation id -> f(arrays, static, lib) -> jax array
ROW_FUNCTIONS: dict[str, Callable] = {}  # implementation id -> the library function `lib` it calls


MODES = ("jit", "eager")  # conformance/adapters/execution.py


def _mode() -> str:
    from conformance.adapters import execution

    mode = execution.current() or MODES[0]
    if mode not in MODES:
        raise ValueError(f"jax has no execution mode {mode!r}; modes: {', '.join(MODES)}")
    return mode


@functools.lru_cache(maxsize=None)
def _compiled(row_id: str, static_items: tuple, names: tuple, grads: tuple, custom=None, mode: str = "jit"):
    """jit(arrays -> (value, grads)) for one row and static config; jit then caches per shape and dtype.
    mode "eager": the same function un-jitted, to be called under jax.disable_jit() (op by op)."""
    jax = _jax()
    fn, static = ROWS[row_id], dict(static_items)
    lib = custom if custom is not None else ROW_FUNCTIONS[row_id]

    def value_and_grads(*arrays):
        given = dict(zip(names, arrays))

        def f(*wanted):
            return fn({**given, **dict(zip(grads, wanted))}, static, lib)

        if not grads:
            return f(), ()
        out, pullback = jax.vjp(f, *(given[name] for name in grads))
        return out, pullback(jax.numpy.ones_like(out))

    return jax.jit(value_and_grads) if mode == "jit" else value_and_grads


def _call(row_id: str, static_keys: tuple[str, ...] = ()):
    """An Implementation.call running ROWS[row_id] with the params named in static_keys as static floats."""

    def call(inputs, params, dtype, device, grads, fn=None):
        jax = _jax()
        if params.get("where") is not None:  # an array argument of the jitted function, not a static one
            inputs = {**inputs, WHERE: np.asarray(params["where"], dtype=bool)}
        names = tuple(sorted(inputs))
        static = tuple((key, params.get(key)) for key in static_keys)
        mode = _mode()
        run = _compiled(row_id, static, names, tuple(grads), fn, mode)
        where = _device(device)
        arrays = tuple(jax.device_put(inputs[name], where) for name in names)
        with jax.disable_jit(mode == "eager"):
            value, got = run(*arrays)
        observed = Observed(np.asarray(value), {name: np.asarray(g) for name, g in zip(grads, got)})
        request = modes.current()
        if request is not None and grads:  # a mode case (conformance/adapters/jax_modes.py)
            lib = fn if fn is not None else ROW_FUNCTIONS[row_id]
            observed.derivs = jax_modes.derivs(jax, ROWS[row_id], static, lib, names, tuple(grads), arrays,
                                               request, where)
        return observed

    return call


# ----------------------------------------------------------------------------------------- predicates



def _vectors_only(inputs, params):
    """optax.kl_divergence sums over the last axis only, keeping the batch; the reference kl_div reduces
    all elements or none, so the two agree exactly only for 1-D inputs with reduction "sum"."""
    return all(a.ndim == 1 for a in inputs.values())


def _any_neg_inf(name: str):
    return lambda inputs, params: bool(np.any(np.isneginf(np.asarray(inputs[name], dtype=np.float64))))


# ------------------------------------------------------------------------------------------------ rows

def _axis(static: dict) -> int:
    """The class axis of a row that takes any (-1 when the case does not say)."""
    axis = static.get("axis")
    return -1 if axis is None else axis


WHERE = "param:where"  # the where= mask among a row's arrays (given only when the case has one)


def _where_kw(arrays: dict) -> dict:
    """where= for a row whose case has a mask (a custom kernel called like the row need not take where=
    otherwise)."""
    return {"where": arrays[WHERE]} if WHERE in arrays else {}


def _axis_kw(static: dict) -> dict:
    """axis= for optax's losses when the class axis is not the last (a custom kernel called like the row
    need not take axis= for the default)."""
    axis = static.get("axis", -1)
    return {} if axis in (None, -1) else {"axis": axis}


def _register(row_id: str, fn: Callable, lib: Callable, static_keys: tuple[str, ...] = ()):
    ROWS[row_id], ROW_FUNCTIONS[row_id] = fn, lib
    return _call(row_id, static_keys)


def implementations() -> list[Implementation]:
    jax, optax = _jax(), _optax()
    jnn, losses = jax.nn, optax.losses
    devs = tuple(devices())
    rows: list[Implementation] = []

    def row(row_id, op, lib, fn, grads, link, static_keys=(), params=None, fixed=None, **extra):
        """fn(arrays, static, f) calls the library function `lib` as f (a custom kernel replaces it). A function
        the installed release lacks (lib None; upgrade checks run older jax/optax releases) gives no row."""
        if lib is None:
            return
        rows.append(Implementation(
            id=row_id, framework=FRAMEWORK, op=op, call=_register(row_id, fn, lib, static_keys), dtypes=DTYPES,
            params=params or {}, fixed_params=fixed or {}, grads=grads, devices=devs, link=link, **extra))

    axis, ce = {"axis": -1}, {"axis": -1, "reduction": "none"}
    smoothing = {"label_smoothing": None}
    no_reduction = {"reduction": "none"}

    any_axis = {"axis": None}
    masked = {"axis": None, "where": None}  # where=: a boolean mask of the input's shape (reference docs/ops.md)
    row("jax.nn.softmax", "softmax", jnn.softmax, lambda a, s, f: f(a["x"], axis=_axis(s), **_where_kw(a)), ("x",),
        JAX_DOCS + "jax.nn.softmax.html", static_keys=("axis",), params=masked)
    row("jax.nn.log_softmax", "log_softmax", jnn.log_softmax,
        lambda a, s, f: f(a["x"], axis=_axis(s), **_where_kw(a)), ("x",),
        JAX_DOCS + "jax.nn.log_softmax.html", static_keys=("axis",), params=masked)
    row("jax.nn.sigmoid", "sigmoid", jnn.sigmoid, lambda a, s, f: f(a["x"]), ("x",), JAX_DOCS + "jax.nn.sigmoid.html")
    row("jax.nn.log_sigmoid", "log_sigmoid", jnn.log_sigmoid, lambda a, s, f: f(a["x"]), ("x",),
        JAX_DOCS + "jax.nn.log_sigmoid.html")

    # Probability targets: -sum_c t_c log_softmax(logits)_c over the last axis; smooth_labels (1-a) t + a/C.
    nan_at_neg_inf = Convention(
        key="zero_target_at_neg_inf_logit_is_nan",
        description="softmax_cross_entropy multiplies t * log_softmax(logits) as is: t = 0 where a logit is -inf "
                    "gives 0 * -inf = NaN (safe_softmax_cross_entropy is the documented alternative)",
        link=OPTAX_DOCS + "softmax_cross_entropy", applies=_any_neg_inf("logits"))
    soft = dict(accepts=input_is_float("target"))
    row("optax.losses.softmax_cross_entropy", "cross_entropy", losses.softmax_cross_entropy,
        lambda a, s, f: f(a["logits"], a["target"], **_axis_kw(s), **_where_kw(a)), ("logits", "target"),
        OPTAX_DOCS + "softmax_cross_entropy", static_keys=("axis",), params=masked, fixed=no_reduction,
        conventions=(nan_at_neg_inf,), **soft)
    row("optax.losses.softmax_cross_entropy∘smooth_labels", "cross_entropy", losses.softmax_cross_entropy,
        lambda a, s, f: f(a["logits"], optax.smooth_labels(a["target"], s["label_smoothing"])),
        ("logits", "target"), OPTAX_DOCS + "smooth_labels", static_keys=("label_smoothing",), params=smoothing,
        fixed=ce, conventions=(nan_at_neg_inf,), **soft)
    row("optax.losses.safe_softmax_cross_entropy", "cross_entropy", getattr(losses, "safe_softmax_cross_entropy", None),
        lambda a, s, f: f(a["logits"], a["target"]), ("logits", "target"),
        OPTAX_DOCS + "safe_softmax_cross_entropy", fixed=ce, **soft)
    row("optax.losses.safe_softmax_cross_entropy∘smooth_labels", "cross_entropy",
        getattr(losses, "safe_softmax_cross_entropy", None),
        lambda a, s, f: f(a["logits"], optax.smooth_labels(a["target"], s["label_smoothing"])),
        ("logits", "target"), OPTAX_DOCS + "smooth_labels", static_keys=("label_smoothing",), params=smoothing,
        fixed=ce, **soft)

    # Integer labels: logsumexp(logits) - take_along_axis(logits, label).
    row("optax.losses.softmax_cross_entropy_with_integer_labels", "cross_entropy",
        losses.softmax_cross_entropy_with_integer_labels,
        lambda a, s, f: f(a["logits"], a["target"], **_axis_kw(s), **_where_kw(a)),
        ("logits",), OPTAX_DOCS + "softmax_cross_entropy_with_integer_labels", static_keys=("axis",),
        params=masked, fixed=no_reduction, accepts=input_is_int("target"),
        bad_labels="garbage", conventions=(Convention(
            key="bad_label_unchecked",
            description="Labels are assumed in [0, C) and never checked: take_along_axis gives NaN for a label "
                        ">= C and wraps a negative label around (-1 is the last class)",
            link=OPTAX_DOCS + "softmax_cross_entropy_with_integer_labels"),))
    # The usual way to smooth integer labels: one_hot(labels, C, dtype=logits.dtype), then smooth_labels.
    row("optax.losses.softmax_cross_entropy∘smooth_labels∘jax.nn.one_hot", "cross_entropy",
        losses.softmax_cross_entropy, lambda a, s, f: f(a["logits"], optax.smooth_labels(
            jnn.one_hot(a["target"], a["logits"].shape[-1], dtype=a["logits"].dtype), s["label_smoothing"])),
        ("logits",), JAX_DOCS + "jax.nn.one_hot.html", static_keys=("label_smoothing",), params=smoothing,
        fixed=ce, accepts=input_is_int("target"), bad_labels="zero", conventions=(nan_at_neg_inf, Convention(
            key="bad_label_zero_row",
            description="jax.nn.one_hot maps a label outside [0, C) to a zero row: the loss is silently "
                        "(a/C) * sum_c -log_softmax(logits)_c (0 without smoothing)",
            link=JAX_DOCS + "jax.nn.one_hot.html")))

    row("optax.losses.sigmoid_binary_cross_entropy", "binary_cross_entropy_with_logits",
        losses.sigmoid_binary_cross_entropy, lambda a, s, f: f(a["x"], a["y"]), ("x", "y"),
        OPTAX_DOCS + "sigmoid_binary_cross_entropy", fixed={"reduction": "none"})
    row("optax.losses.sigmoid_focal_loss", "sigmoid_focal_loss", losses.sigmoid_focal_loss,
        lambda a, s, f: f(a["x"], a["y"], alpha=s["alpha"], gamma=s["gamma"]), ("x", "y"),
        OPTAX_DOCS + "sigmoid_focal_loss", static_keys=("alpha", "gamma"), params={"alpha": None, "gamma": None},
        fixed={"reduction": "none"})

    # kl_divergence(log_predictions, targets) = sum_last targets (log targets - log_predictions), with
    # log targets := 0 where targets == 0: the reference kl_div(input=log q, target=p) summed.
    kl_link = OPTAX_DOCS + "kl_divergence"
    row("optax.losses.kl_divergence", "kl_div", losses.kl_divergence,
        lambda a, s, f: f(a["input"], a["target"]), ("input", "target"), kl_link,
        fixed={"reduction": "sum", "log_target": False}, accepts=_vectors_only, conventions=(Convention(
            key="zero_target_at_neg_inf_input_is_nan",
            description="targets == 0 contributes 0 * (0 - log_predictions): NaN where log_predictions is -inf",
            link=_optax_src(), applies=_any_neg_inf("input")),))
    row("optax.losses.kl_divergence_with_log_targets", "kl_div", losses.kl_divergence_with_log_targets,
        lambda a, s, f: f(a["input"], a["target"]), ("input", "target"),
        OPTAX_DOCS + "kl_divergence_with_log_targets", fixed={"reduction": "sum", "log_target": True},
        accepts=_vectors_only)

    _optax_issue17_rows(row, optax, jax, ce, nan_at_neg_inf, soft, kl_link)

    # jax.scipy.special: elementwise, differentiated by jax (custom JVPs where jax defines them).
    jss = jax.scipy.special
    special = JAX_DOCS + "jax.scipy.special."
    row("jax.scipy.special.xlogy", "xlogy", jss.xlogy, lambda a, s, f: f(a["x"], a["y"]), ("x", "y"),
        special + "xlogy.html")
    row("jax.scipy.special.rel_entr", "rel_entr", jss.rel_entr, lambda a, s, f: f(a["x"], a["y"]), ("x", "y"),
        special + "rel_entr.html")
    row("jax.scipy.special.kl_div", "generalized_kl", jss.kl_div, lambda a, s, f: f(a["x"], a["y"]), ("x", "y"),
        special + "kl_div.html")
    row("jax.scipy.special.softmax", "softmax", jss.softmax, lambda a, s, f: f(a["x"], axis=_axis(s)), ("x",),
        special + "softmax.html", static_keys=("axis",), params=any_axis)
    row("jax.scipy.special.log_softmax", "log_softmax", jss.log_softmax,
        lambda a, s, f: f(a["x"], axis=_axis(s)), ("x",), special + "log_softmax.html", static_keys=("axis",),
        params=any_axis)
    row("jax.scipy.special.expit", "sigmoid", jss.expit, lambda a, s, f: f(a["x"]), ("x",), special + "expit.html")
    row("jax.scipy.special.entr", "entr", jss.entr, lambda a, s, f: f(a["x"]), ("x",), special + "entr.html")
    row("jax.scipy.special.xlog1py", "xlog1py", jss.xlog1py, lambda a, s, f: f(a["x"], a["y"]), ("x", "y"),
        special + "xlog1py.html")
    where_only = {"where": None}
    row("jax.scipy.special.logsumexp", "logsumexp", jss.logsumexp,
        lambda a, s, f: f(a["x"], axis=-1, **_where_kw(a)), ("x",), special + "logsumexp.html", fixed=axis,
        params=where_only)
    row("jax.nn.logsumexp", "logsumexp", jnn.logsumexp, lambda a, s, f: f(a["x"], axis=-1, **_where_kw(a)), ("x",),
        JAX_DOCS + "jax.nn.logsumexp.html", fixed=axis, params=where_only)
    return rows


def _masked_pad(jnp, a, where_value=float("nan")):
    """a with one more class (last axis) holding NaN, and the where= mask that leaves it out: a correct
    where= gives exactly the unpadded answer, and the NaN shows any leak of a masked element."""
    pad = jnp.full(a.shape[:-1] + (1,), where_value, dtype=a.dtype)
    keep = jnp.concatenate([jnp.ones(a.shape, dtype=bool), jnp.zeros(a.shape[:-1] + (1,), dtype=bool)], axis=-1)
    return jnp.concatenate([a, pad], axis=-1), keep


def _optax_issue17_rows(row, optax, jax, ce, nan_at_neg_inf, soft, kl_link):
    """optax's poly loss, generalized KL and the axis= / where= arguments (issue 17)."""
    losses, jnp = optax.losses, jax.numpy

    def where_call(a, s, f, **kw):
        logits, keep = _masked_pad(jnp, a["logits"])
        target, _ = _masked_pad(jnp, a["target"])
        return f(logits, target, where=keep, **kw)

    row("optax.losses.softmax_cross_entropy(axis=0)", "cross_entropy", losses.softmax_cross_entropy,
        lambda a, s, f: f(a["logits"], a["target"], axis=0), ("logits", "target"),
        OPTAX_DOCS + "softmax_cross_entropy", fixed={"axis": 0, "reduction": "none"},
        conventions=(nan_at_neg_inf,), **soft)
    row("optax.losses.softmax_cross_entropy(where=)", "cross_entropy", losses.softmax_cross_entropy,
        where_call, ("logits", "target"), OPTAX_DOCS + "softmax_cross_entropy", fixed=ce,
        conventions=(nan_at_neg_inf,), **soft)
    # Poly-1: softmax_cross_entropy + epsilon * sum(labels * (1 - softmax)) over the class axis.
    eps = {"epsilon": None}
    row("optax.losses.poly_loss_cross_entropy", "poly_loss", getattr(losses, "poly_loss_cross_entropy", None),
        lambda a, s, f: f(a["logits"], a["target"], epsilon=s["epsilon"]), ("logits", "target"),
        OPTAX_DOCS + "poly_loss_cross_entropy", static_keys=("epsilon",), params=eps,
        fixed={"axis": -1, "reduction": "none"}, conventions=(nan_at_neg_inf,))
    row("optax.losses.poly_loss_cross_entropy(where=)", "poly_loss", getattr(losses, "poly_loss_cross_entropy", None),
        lambda a, s, f: where_call(a, s, f, epsilon=s["epsilon"]), ("logits", "target"),
        OPTAX_DOCS + "poly_loss_cross_entropy", static_keys=("epsilon",), params=eps,
        fixed={"axis": -1, "reduction": "none"}, conventions=(nan_at_neg_inf,))
    # generalized_kl_divergence(log_predictions, targets) = kl_divergence + sum(exp(log_predictions) - targets);
    # convex_kl_divergence is its deprecated name (a wrapper that warns).
    for name in ("generalized_kl_divergence", "convex_kl_divergence"):
        row(f"optax.losses.{name}", "kl_div", getattr(losses, name, None),
            lambda a, s, f: f(a["input"], a["target"]), ("input", "target"), OPTAX_DOCS + name,
            fixed={"reduction": "sum", "log_target": False, "generalized": True}, accepts=_vectors_only,
            conventions=(Convention(
                key="zero_target_at_neg_inf_input_is_nan",
                description="targets == 0 contributes 0 * (0 - log_predictions): NaN where log_predictions is -inf",
                link=_optax_src(), applies=_any_neg_inf("input")),))
