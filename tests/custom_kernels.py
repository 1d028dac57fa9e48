"""Custom kernels for the custom-signature tests: faithful wrappers (they must behave exactly like the
framework's own function) and broken kernels (a 0.1% error in the value, which every signature must catch)."""
import numpy as np

BROKEN = 1.0 + 2.0 ** -10


def torch_log_softmax(input, dim=None):
    import torch.nn.functional as F

    return F.log_softmax(input, dim=dim)


def torch_log_softmax_broken(input, dim=None):
    import torch.nn.functional as F

    return F.log_softmax(input, dim=dim) * BROKEN


def jax_log_softmax(x, axis=-1):
    import jax

    return jax.nn.log_softmax(x, axis=axis)


def jax_log_softmax_broken(x, axis=-1):
    import jax

    return jax.nn.log_softmax(x, axis=axis) * BROKEN


def tf_log_softmax(logits, axis=None):
    import tensorflow as tf

    return tf.nn.log_softmax(logits, axis=axis)


def tf_log_softmax_broken(logits, axis=None):
    import tensorflow as tf

    return tf.nn.log_softmax(logits, axis=axis) * BROKEN


def numpy_sigmoid(x):
    """A correct float64-internal sigmoid, rounded to the input dtype."""
    x64 = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = np.where(x64 >= 0, 1 / (1 + np.exp(-x64)), np.exp(x64) / (1 + np.exp(x64)))
    return out.astype(np.asarray(x).dtype)


def numpy_sigmoid_vjp(x):
    s = numpy_sigmoid(np.asarray(x, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore"):
        x64 = np.asarray(x, dtype=np.float64)
        g = np.where(x64 >= 0, np.exp(-x64) / (1 + np.exp(-x64)) ** 2, np.exp(x64) / (1 + np.exp(x64)) ** 2)
    g = np.where(np.isnan(x64), np.nan, g)
    return {"x": np.asarray(g * 1.0 + 0 * s).astype(np.asarray(x).dtype)}


def numpy_sigmoid_vjp_broken(x):
    return {"x": (numpy_sigmoid_vjp(x)["x"].astype(np.float64) * 2).astype(np.asarray(x).dtype)}


def torch_softmax_focal_loss(logits, target, gamma=2.0, alpha=0.25, reduction="mean", axis=1):
    """softmax focal loss in the reference's vocabulary (docs/ops.md) with torch tensors: the generic
    calling convention for an op torch has no row for."""
    import torch

    lp = torch.log_softmax(logits, dim=axis)
    p = lp.exp()
    loss = -((1.0 if alpha is None else alpha) * target * (1 - p) ** gamma * lp).sum(dim=axis)
    return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]


def keras_categorical_focal(y_true, y_pred, **kwargs):
    """A faithful Keras-convention kernel (tf signature for an op only Keras covers)."""
    import keras

    return keras.losses.CategoricalFocalCrossentropy(dtype=y_pred.dtype.name, **kwargs)(y_true, y_pred)


def optax_sigmoid_focal(logits, labels, alpha=None, gamma=2.0):
    import optax

    return optax.losses.sigmoid_focal_loss(logits, labels, alpha=alpha, gamma=gamma)


# ----------------------------------------------------------------------------- derivative-mode mutants
# torch.autograd.Functions computing sigmoid with their own backward, forward-mode (jvp) and double-backward
# rules: one correct, three each wrong in exactly one mode (tests/conformance/test_mode_mutants.py).

def _sigmoid_prime():
    """d(x) = sigmoid(x) sigmoid(-x) with its own derivative d' = -d tanh(x/2): accurate at tiny x, where
    autograd's product rule s'(x) s(-x) - s(x) s'(-x) cancels to 0 (the truth is about -x/8)."""
    import torch

    class SigmoidPrime(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.sigmoid(x) * torch.sigmoid(-x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return -g * torch.sigmoid(x) * torch.sigmoid(-x) * torch.tanh(x / 2)

    return SigmoidPrime.apply


def _sigmoid_function(backward_rule: str = "right", jvp_rule: str = "right"):
    import torch

    prime = _sigmoid_prime()

    class Sigmoid(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            ctx.save_for_forward(x)
            return torch.sigmoid(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            d = prime(x)  # s(1 - s) without cancellation, differentiable again (accurately)
            if backward_rule == "ignores_cotangent":  # right with a cotangent of ones, wrong otherwise
                return d * g.mean()
            if backward_rule == "no_double_backward":  # first order right; its own derivative dropped
                return g * d.detach()
            return g * d

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            d = torch.sigmoid(x) * torch.sigmoid(-x)
            return t * (torch.sigmoid(x) if jvp_rule == "wrong" else d)

    return Sigmoid.apply


def torch_sigmoid_custom(x):
    return _sigmoid_function()(x)


def torch_sigmoid_ignores_cotangent(x):
    return _sigmoid_function(backward_rule="ignores_cotangent")(x)


def torch_sigmoid_wrong_jvp(x):
    return _sigmoid_function(jvp_rule="wrong")(x)


def torch_sigmoid_wrong_double_backward(x):
    return _sigmoid_function(backward_rule="no_double_backward")(x)
