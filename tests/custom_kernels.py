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
