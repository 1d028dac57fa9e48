"""A cross-entropy kernel in JAX for integer labels (correct): the log-sum-exp is shifted by the row maximum
(held constant for the gradient) and the label's shifted logit is subtracted from it.

    loss_i = log(sum_j exp(x_ij - m_i)) - (x_i,y_i - m_i),   m_i = max_j x_ij

Called like optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels) (class axis last, one loss
per row); it declines probability targets. Check it with

    python -m conformance run --impl examples.jax_cross_entropy:cross_entropy --op cross_entropy \
        --signature jax --profile quick --out reports/examples/jax
"""
import jax
import jax.numpy as jnp


def cross_entropy(logits, labels):
    if jnp.issubdtype(labels.dtype, jnp.floating):
        raise NotImplementedError("this example supports integer labels only")
    m = jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    m = jnp.where(jnp.isfinite(m), m, jnp.zeros_like(m))
    shifted = logits - m
    lse = jnp.log(jnp.sum(jnp.exp(shifted), axis=-1))
    picked = jnp.take_along_axis(shifted, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return lse - picked
