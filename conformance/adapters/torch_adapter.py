"""PyTorch adapter: torch.nn.functional's cross-entropy family as Implementations (see
conformance/adapters/implementation.py for the contract and docs/ops.md for the ops).

Every call converts the case's numpy inputs to tensors of exactly the case dtype on the requested device
(bfloat16 bit for bit through an int16 view), calls the torch function with the params translated,
differentiates with `torch.autograd.grad(out, inputs, grad_outputs=ones_like(out))`, i.e.
grad[x] = d(sum(out))/dx, and hands back numpy arrays in the dtype torch returned. Exceptions propagate.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any, Callable

import ml_dtypes
import numpy as np

from conformance.adapters import installed, modes, torch_linear, torch_modes, torch_policy, torch_reductions
from conformance.floats import round_to_dtype
from conformance.adapters.implementation import Implementation, Observed
from conformance.adapters.execution import FRAMEWORK_MEMORY
from reference.dtypes import DTYPE_NAMES

FRAMEWORK = "torch"

DOCS = "https://docs.pytorch.org/docs/stable/generated/"
CROSS_ENTROPY_LOSS_DOCS = DOCS + "torch.nn.CrossEntropyLoss.html"
NLL_LOSS_DOCS = DOCS + "torch.nn.NLLLoss.html"
BCE_LOSS_DOCS = DOCS + "torch.nn.BCELoss.html"
ALL_DTYPES = DTYPE_NAMES
REDUCTIONS = ("none", "sum", "mean")


def available() -> bool:
    return importlib.util.find_spec("torch") is not None


def version() -> str:
    return f"torch {installed.version_of('torch', 'torch')}"  # metadata: torch is not imported to plan a run


def devices() -> list[str]:
    if not available():
        return ["cpu"]
    if "torch" not in sys.modules and installed.local_tag("torch") == "cpu":
        return ["cpu"]  # a CPU-only wheel (torch X+cpu) has no CUDA to ask about: no import needed
    import torch

    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


# ---------------------------------------------------------------------------------------------------------
# numpy <-> torch, exactly


def to_tensor(array: np.ndarray, device: str):
    """The numpy array as a tensor of the same dtype and bits on `device` (bfloat16 via an int16 view)."""
    import torch

    copy = np.array(array, copy=True)
    if copy.dtype == np.dtype(ml_dtypes.bfloat16):
        return torch.from_numpy(copy.view(np.int16)).view(torch.bfloat16).to(device)
    return torch.from_numpy(copy).to(device)


def to_numpy(tensor) -> np.ndarray:
    """The tensor's values, bit for bit, in the dtype torch gave it (bfloat16 as ml_dtypes.bfloat16)."""
    import torch

    t = tensor.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().copy().view(ml_dtypes.bfloat16)
    return t.numpy().copy()


def param_tensor(values: Any, dtype: str, device: str, name: str | None = None):
    """A parameter as a tensor; a weight parameter a mode case differentiates (conformance/adapters/modes.py,
    PARAM_GRADS) requires grad and is handed to the mode code."""
    if values is None:
        return None
    t = to_tensor(round_to_dtype(values, dtype), device)
    return modes.param_leaf(name, t.requires_grad_(True)) if modes.wants_param(name) else t


def run(fn: Callable, inputs: dict, device: str, grads: tuple[str, ...]) -> Observed:
    """out = fn(**tensors); gradients of sum(out) for the inputs named in `grads` by torch.autograd.

    TF32 and reduced-precision reductions stay off unless the run asked for them (--tf32)."""
    import torch

    tf32 = os.environ.get("CE_CONFORMANCE_TF32") == "1"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = tf32

    from conformance.adapters import execution

    layout = execution.memory()
    tensors = {name: to_tensor(array, device) for name, array in inputs.items()}
    for name in grads:
        tensors[name].requires_grad_(True)
    # the same values in the case's memory layout (a non-leaf view of the leaf the gradient is taken for)
    viewed = {name: execution.torch_view(t, layout) for name, t in tensors.items()}
    with torch_policy.forward_context(device):  # torch.autocast for a policy row (torch_policy.py)
        out = in_mode(fn)(**viewed)
    observed = Observed(value=to_numpy(out))
    if grads:
        wanted = [tensors[name] for name in grads]
        # materialize_grads: an input the graph does not use gets torch's zero gradient, not None.
        result = torch.autograd.grad(out, wanted, grad_outputs=torch.ones_like(out), allow_unused=True,
                                     materialize_grads=True)
        observed.grads = {name: to_numpy(g) for name, g in zip(grads, result)}
    request = modes.current()
    if request is not None and grads:  # a mode case: vjp / jvp / hvp (conformance/adapters/torch_modes.py)
        observed.derivs = torch_modes.derivs(fn, inputs, device, grads, request, to_tensor, to_numpy)
    return observed


MODES = ("eager", "compile")  # conformance/adapters/execution.py


def in_mode(fn: Callable) -> Callable:
    """fn as the current execution mode runs it: itself (eager) or torch.compile(fn, dynamic=False) with
    inductor. Dynamo caches compiled code on fn's code object (the same lambda of a row on every call),
    guarded on the input shapes and dtypes and on the values its closure holds (params): it compiles once
    per shape and params, never per call. The recompile limit is lifted and hitting it raises, so a cell never
    falls back to eager unnoticed."""
    from conformance.adapters import execution

    mode = execution.current() or MODES[0]
    if mode == "eager":
        return fn
    if mode != "compile":
        raise ValueError(f"torch has no execution mode {mode!r}; modes: {', '.join(MODES)}")
    import torch
    import torch._dynamo.config as dynamo_config

    dynamo_config.recompile_limit = 1 << 20
    dynamo_config.accumulated_recompile_limit = 1 << 20
    dynamo_config.fail_on_recompile_limit_hit = True
    return torch.compile(fn, dynamic=False, backend="inductor")


def class_axis_is_1(params: dict) -> None:
    if params.get("axis", 1) not in (1,):
        raise ValueError(f"torch takes the class axis at dim 1 (fixed_params); got axis={params['axis']}")


# ---------------------------------------------------------------------------------------------------------
# calls (inputs and params in the vocabulary of docs/ops.md); `fn` replaces torch's own function with a
# custom one called the same way (conformance/adapters/custom.py)


def call_softmax(inputs, params, dtype, device, grads, fn=None):
    import torch.nn.functional as F

    fn = fn or F.softmax
    return run(lambda x: fn(x, dim=params["axis"]), inputs, device, grads)


def call_log_softmax(inputs, params, dtype, device, grads, fn=None):
    import torch.nn.functional as F

    fn = fn or F.log_softmax
    return run(lambda x: fn(x, dim=params["axis"]), inputs, device, grads)


def call_sigmoid(inputs, params, dtype, device, grads, fn=None):
    import torch

    fn = fn or torch.sigmoid
    return run(lambda x: fn(x), inputs, device, grads)


def call_logsigmoid(inputs, params, dtype, device, grads, fn=None):
    import torch.nn.functional as F

    fn = fn or F.logsigmoid
    return run(lambda x: fn(x), inputs, device, grads)


def _class_target_kwargs(params: dict, dtype: str, device: str) -> dict:
    kwargs = {"weight": param_tensor(params.get("weight"), dtype, device, "weight"),
              "reduction": params.get("reduction", "mean")}
    if params.get("ignore_index") is not None:  # otherwise torch's default -100 stays in force
        kwargs["ignore_index"] = int(params["ignore_index"])
    return kwargs


def call_cross_entropy_class(inputs, params, dtype, device, grads, fn=None):
    import torch.nn.functional as F

    fn = fn or F.cross_entropy
    class_axis_is_1(params)
    kwargs = _class_target_kwargs(params, dtype, device)
    smoothing = float(params.get("label_smoothing") or 0.0)
    return run(lambda logits, target: fn(logits, target, label_smoothing=smoothing, **kwargs),
               inputs, device, grads)


def call_cross_entropy_probs(inputs, params, dtype, device, grads, fn=None):
    import torch.nn.functional as F

    fn = fn or F.cross_entropy
    class_axis_is_1(params)
    weight = param_tensor(params.get("weight"), dtype, device, "weight")
    smoothing = float(params.get("label_smoothing") or 0.0)
    reduction = params.get("reduction", "mean")
    return run(lambda logits, target: fn(logits, target, weight=weight, reduction=reduction,
                                                      label_smoothing=smoothing),
               inputs, device, grads)


def call_nll_loss(inputs, params, dtype, device, grads, fn=None):
    import torch.nn.functional as F

    fn = fn or F.nll_loss
    class_axis_is_1(params)
    kwargs = _class_target_kwargs(params, dtype, device)
    return run(lambda logp, target: fn(logp, target, **kwargs), inputs, device, grads)


def call_binary_cross_entropy(inputs, params, dtype, device, grads, fn=None):
    import torch.nn.functional as F

    fn = fn or F.binary_cross_entropy
    weight = param_tensor(params.get("weight"), dtype, device, "weight")
    reduction = params.get("reduction", "mean")
    return run(lambda p, y: fn(p, y, weight=weight, reduction=reduction),
               inputs, device, grads)


def call_binary_cross_entropy_with_logits(inputs, params, dtype, device, grads, fn=None):
    import torch.nn.functional as F

    fn = fn or F.binary_cross_entropy_with_logits
    weight = param_tensor(params.get("weight"), dtype, device, "weight")
    pos_weight = param_tensor(params.get("pos_weight"), dtype, device, "pos_weight")
    reduction = params.get("reduction", "mean")
    return run(lambda x, y: fn(x, y, weight=weight, pos_weight=pos_weight,
                                                               reduction=reduction),
               inputs, device, grads)


def call_kl_div(inputs, params, dtype, device, grads, fn=None):
    import torch.nn.functional as F

    fn = fn or F.kl_div
    reduction = params.get("reduction", "mean")
    log_target = bool(params.get("log_target", False))
    return run(lambda input, target: fn(input, target, reduction=reduction, log_target=log_target),
               inputs, device, grads)


# ---------------------------------------------------------------------------------------------------------
# conventions


from conformance.adapters.torch_conventions import (  # noqa: E402  (the conventions the rows declare)
    IGNORE_INDEX_DEFAULT,
    WEIGHTED_MEAN,
    MEAN_OF_NOTHING_IS_NAN,
    WEIGHTED_LABEL_SMOOTHING,
    PROB_TARGETS_MEAN_COUNT,
    BCE_LOG_CLAMP,
    BCE_BACKWARD_EPS,
    BCE_CHECKS_DOMAIN)


def implementations() -> list[Implementation]:
    devs = tuple(devices())

    def impl(id: str, op: str, call: Callable, link: str, **fields) -> Implementation:
        return Implementation(id=id, framework=FRAMEWORK, op=op, call=call, dtypes=ALL_DTYPES, devices=devs,
                              link=link, memory_layouts=FRAMEWORK_MEMORY["torch"], **fields)

    class_target_params = {"weight": None, "ignore_index": None, "reduction": REDUCTIONS,
                           "mean_denominator": ("weight_sum",)}
    rows = [
        impl("torch.nn.functional.softmax", "softmax", call_softmax,
             DOCS + "torch.nn.functional.softmax.html", params={"axis": None}, grads=("x",)),
        impl("torch.nn.functional.log_softmax", "log_softmax", call_log_softmax,
             DOCS + "torch.nn.functional.log_softmax.html", params={"axis": None}, grads=("x",)),
        impl("torch.sigmoid", "sigmoid", call_sigmoid, DOCS + "torch.sigmoid.html", grads=("x",)),
        impl("torch.nn.functional.logsigmoid", "log_sigmoid", call_logsigmoid,
             DOCS + "torch.nn.functional.logsigmoid.html", grads=("x",)),
        impl("torch.nn.functional.cross_entropy[class]", "cross_entropy", call_cross_entropy_class,
             DOCS + "torch.nn.functional.cross_entropy.html",
             params={**class_target_params, "label_smoothing": None}, fixed_params={"axis": 1},
             grads=("logits",), bad_labels="raises",
             conventions=(IGNORE_INDEX_DEFAULT, WEIGHTED_MEAN, WEIGHTED_LABEL_SMOOTHING, MEAN_OF_NOTHING_IS_NAN),
             accepts=lambda inputs, params: np.issubdtype(inputs["target"].dtype, np.integer)),
        impl("torch.nn.functional.cross_entropy[probs]", "cross_entropy", call_cross_entropy_probs,
             DOCS + "torch.nn.functional.cross_entropy.html",
             params={"weight": None, "label_smoothing": None, "reduction": REDUCTIONS,
                     "mean_denominator": ("count",)},
             fixed_params={"axis": 1}, grads=("logits", "target"),
             conventions=(PROB_TARGETS_MEAN_COUNT, MEAN_OF_NOTHING_IS_NAN),
             accepts=lambda inputs, params: not np.issubdtype(inputs["target"].dtype, np.integer)),
        impl("torch.nn.functional.nll_loss", "nll_loss", call_nll_loss,
             DOCS + "torch.nn.functional.nll_loss.html", params=class_target_params, fixed_params={"axis": 1},
             grads=("logp",), bad_labels="raises",
             conventions=(IGNORE_INDEX_DEFAULT, WEIGHTED_MEAN, MEAN_OF_NOTHING_IS_NAN)),
        impl("torch.nn.functional.binary_cross_entropy", "binary_cross_entropy", call_binary_cross_entropy,
             DOCS + "torch.nn.functional.binary_cross_entropy.html",
             params={"weight": None, "reduction": REDUCTIONS, "log_clamp": (-100,)}, grads=("p", "y"),
             conventions=(BCE_LOG_CLAMP, BCE_BACKWARD_EPS, BCE_CHECKS_DOMAIN)),
        impl("torch.nn.functional.binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits",
             call_binary_cross_entropy_with_logits, DOCS + "torch.nn.functional.binary_cross_entropy_with_logits.html",
             params={"weight": None, "pos_weight": None, "reduction": REDUCTIONS}, grads=("x", "y")),
        impl("torch.nn.functional.kl_div", "kl_div", call_kl_div, DOCS + "torch.nn.functional.kl_div.html",
             params={"log_target": (False, True), "reduction": ("none", "sum", "mean", "batchmean")},
             grads=("input", "target")),
    ] + _module_and_special_rows(impl, class_target_params) + torch_reductions.rows(impl, run) + torch_linear.rows(
        impl, run, param_tensor, _torch_dtype,
        (IGNORE_INDEX_DEFAULT, WEIGHTED_MEAN, WEIGHTED_LABEL_SMOOTHING, MEAN_OF_NOTHING_IS_NAN))
    return rows + torch_policy.autocast_rows(rows)  # the same under torch.autocast (a precision policy)


def _torch_dtype(dtype: str):
    import torch

    return getattr(torch, dtype)


# ---------------------------------------------------------------------------------------------------------
# module forms (torch.nn.*Loss, nn.Softmax, ...) and torch.special: the functional rows' calls with the
# module (constructed with the same keyword arguments, then called) or the torch.special function in place
# of torch.nn.functional's; tests/adapters/test_module_parity.py checks each module against its function.


def module_as_function(cls_name: str):
    """fn(*inputs, **kwargs) = torch.nn.<cls_name>(**kwargs)(*inputs): the functional form's keyword arguments
    (dim=, weight=, reduction=, ...) are the module's constructor arguments."""
    def fn(*args, **kwargs):
        import torch.nn as nn

        return getattr(nn, cls_name)(**kwargs)(*args)

    return fn


def call_xlogy(inputs, params, dtype, device, grads, fn=None):
    import torch

    fn = fn or torch.special.xlogy
    return run(lambda x, y: fn(x, y), inputs, device, grads)


def _with(call: Callable, lib: Callable) -> Callable:
    """`call` with `lib` in place of torch.nn.functional's function (a custom kernel, fn=, still replaces it)."""
    def bound(inputs, params, dtype, device, grads, fn=None):
        return call(inputs, params, dtype, device, grads, fn=fn or lib)

    return bound


def _special(name: str) -> Callable:
    def fn(*args, **kwargs):
        import torch

        return getattr(torch.special, name)(*args, **kwargs)

    return fn


def _is_binary(name: str):
    """The target holds only 0 and 1 (soft_margin_loss's y = 2 t - 1 is then exactly +-1)."""
    return lambda inputs, params: bool(np.all(np.isin(np.asarray(inputs[name], dtype=np.float64), (0.0, 1.0))))


def call_soft_margin_loss(inputs, params, dtype, device, grads, fn=None):
    """soft_margin_loss(x, y') = log(1 + exp(-y' x)) with y' = 2 t - 1 in {-1, 1}: bce_with_logits(x, t)."""
    import torch.nn.functional as F

    fn = fn or F.soft_margin_loss
    reduction = params.get("reduction", "mean")
    return run(lambda x, y: fn(x, 2 * y - 1, reduction=reduction), inputs, device, grads)


def call_multilabel_soft_margin_loss(inputs, params, dtype, device, grads, fn=None):
    """multilabel_soft_margin_loss(x, y, weight=) takes the class axis last (reference axis -1)."""
    import torch.nn.functional as F

    fn = fn or F.multilabel_soft_margin_loss
    weight = param_tensor(params.get("weight"), dtype, device)
    reduction = params.get("reduction", "mean")
    return run(lambda x, y: fn(x, y, weight=weight, reduction=reduction), inputs, device, grads)


def call_entr(inputs, params, dtype, device, grads, fn=None):
    import torch

    fn = fn or torch.special.entr
    return run(lambda x: fn(x), inputs, device, grads)


def _top(name: str) -> Callable:
    def fn(*args, **kwargs):
        import torch

        return getattr(torch, name)(*args, **kwargs)

    return fn


def _functional(name: str) -> Callable:
    def fn(*args, **kwargs):
        import torch.nn.functional as F

        return getattr(F, name)(*args, **kwargs)

    return fn


def _module_and_special_rows(impl: Callable, class_target_params: dict) -> list[Implementation]:
    mod = module_as_function
    is_int = lambda inputs, params: np.issubdtype(inputs["target"].dtype, np.integer)  # noqa: E731
    return [
        impl("torch.nn.CrossEntropyLoss[class]", "cross_entropy", _with(call_cross_entropy_class,
                                                                        mod("CrossEntropyLoss")),
             CROSS_ENTROPY_LOSS_DOCS, params={**class_target_params, "label_smoothing": None},
             fixed_params={"axis": 1}, grads=("logits",), bad_labels="raises",
             conventions=(IGNORE_INDEX_DEFAULT, WEIGHTED_MEAN, WEIGHTED_LABEL_SMOOTHING, MEAN_OF_NOTHING_IS_NAN),
             accepts=is_int),
        impl("torch.nn.CrossEntropyLoss[probs]", "cross_entropy", _with(call_cross_entropy_probs,
                                                                        mod("CrossEntropyLoss")),
             CROSS_ENTROPY_LOSS_DOCS,
             params={"weight": None, "label_smoothing": None, "reduction": REDUCTIONS,
                     "mean_denominator": ("count",)},
             fixed_params={"axis": 1}, grads=("logits", "target"),
             conventions=(PROB_TARGETS_MEAN_COUNT, MEAN_OF_NOTHING_IS_NAN),
             accepts=lambda inputs, params: not is_int(inputs, params)),
        impl("torch.nn.NLLLoss", "nll_loss", _with(call_nll_loss, mod("NLLLoss")), NLL_LOSS_DOCS,
             params=class_target_params, fixed_params={"axis": 1}, grads=("logp",), bad_labels="raises",
             conventions=(IGNORE_INDEX_DEFAULT, WEIGHTED_MEAN, MEAN_OF_NOTHING_IS_NAN)),
        impl("torch.nn.BCELoss", "binary_cross_entropy", _with(call_binary_cross_entropy, mod("BCELoss")),
             BCE_LOSS_DOCS, params={"weight": None, "reduction": REDUCTIONS, "log_clamp": (-100,)},
             grads=("p", "y"), conventions=(BCE_LOG_CLAMP, BCE_BACKWARD_EPS, BCE_CHECKS_DOMAIN)),
        impl("torch.nn.BCEWithLogitsLoss", "binary_cross_entropy_with_logits",
             _with(call_binary_cross_entropy_with_logits, mod("BCEWithLogitsLoss")),
             DOCS + "torch.nn.BCEWithLogitsLoss.html",
             params={"weight": None, "pos_weight": None, "reduction": REDUCTIONS}, grads=("x", "y")),
        impl("torch.nn.KLDivLoss", "kl_div", _with(call_kl_div, mod("KLDivLoss")), DOCS + "torch.nn.KLDivLoss.html",
             params={"log_target": (False, True), "reduction": ("none", "sum", "mean", "batchmean")},
             grads=("input", "target")),
        impl("torch.nn.Softmax", "softmax", _with(call_softmax, mod("Softmax")), DOCS + "torch.nn.Softmax.html",
             params={"axis": None}, grads=("x",)),
        impl("torch.nn.LogSoftmax", "log_softmax", _with(call_log_softmax, mod("LogSoftmax")),
             DOCS + "torch.nn.LogSoftmax.html", params={"axis": None}, grads=("x",)),
        impl("torch.nn.Sigmoid", "sigmoid", _with(call_sigmoid, mod("Sigmoid")), DOCS + "torch.nn.Sigmoid.html",
             grads=("x",)),
        impl("torch.nn.LogSigmoid", "log_sigmoid", _with(call_logsigmoid, mod("LogSigmoid")),
             DOCS + "torch.nn.LogSigmoid.html", grads=("x",)),
        impl("torch.special.softmax", "softmax", _with(call_softmax, _special("softmax")),
             "https://docs.pytorch.org/docs/stable/special.html#torch.special.softmax", params={"axis": None},
             grads=("x",)),
        impl("torch.special.log_softmax", "log_softmax", _with(call_log_softmax, _special("log_softmax")),
             "https://docs.pytorch.org/docs/stable/special.html#torch.special.log_softmax", params={"axis": None},
             grads=("x",)),
        impl("torch.special.expit", "sigmoid", _with(call_sigmoid, _special("expit")),
             "https://docs.pytorch.org/docs/stable/special.html#torch.special.expit", grads=("x",)),
        impl("torch.special.xlogy", "xlogy", call_xlogy,
             "https://docs.pytorch.org/docs/stable/special.html#torch.special.xlogy", grads=("x", "y")),
        impl("torch.softmax", "softmax", _with(call_softmax, _top("softmax")), DOCS + "torch.softmax.html",
             params={"axis": None}, grads=("x",)),
        impl("torch.log_softmax", "log_softmax", _with(call_log_softmax, _top("log_softmax")),
             DOCS + "torch.log_softmax.html", params={"axis": None}, grads=("x",)),
        impl("torch.nn.functional.sigmoid", "sigmoid", _with(call_sigmoid, _functional("sigmoid")),
             DOCS + "torch.nn.functional.sigmoid.html", grads=("x",)),
        impl("torch.nn.functional.soft_margin_loss[y=2t-1]", "binary_cross_entropy_with_logits",
             call_soft_margin_loss, DOCS + "torch.nn.functional.soft_margin_loss.html",
             params={"reduction": REDUCTIONS}, grads=("x",), accepts=_is_binary("y")),
        impl("torch.nn.SoftMarginLoss[y=2t-1]", "binary_cross_entropy_with_logits",
             _with(call_soft_margin_loss, module_as_function("SoftMarginLoss")), DOCS + "torch.nn.SoftMarginLoss.html",
             params={"reduction": REDUCTIONS}, grads=("x",), accepts=_is_binary("y")),
        impl("torch.nn.functional.multilabel_soft_margin_loss", "multilabel_soft_margin_loss",
             call_multilabel_soft_margin_loss, DOCS + "torch.nn.functional.multilabel_soft_margin_loss.html",
             params={"weight": None, "reduction": REDUCTIONS}, fixed_params={"axis": -1}, grads=("x", "y")),
        impl("torch.nn.MultiLabelSoftMarginLoss", "multilabel_soft_margin_loss",
             _with(call_multilabel_soft_margin_loss, module_as_function("MultiLabelSoftMarginLoss")),
             DOCS + "torch.nn.MultiLabelSoftMarginLoss.html", params={"weight": None, "reduction": REDUCTIONS},
             fixed_params={"axis": -1}, grads=("x", "y")),
        impl("torch.special.entr", "entr", call_entr,
             "https://docs.pytorch.org/docs/stable/special.html#torch.special.entr", grads=("x",)),
        impl("torch.xlogy", "xlogy", _with(call_xlogy, _top("xlogy")),
             DOCS + "torch.xlogy.html", grads=("x", "y")),
    ]
