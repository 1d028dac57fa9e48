"""Sigmoid cross-entropy with logits in TensorFlow, written out without cancellation: with
l = 1 + (pos_weight - 1) z,

    x >= 0:  loss = (1 - z) x + l * softplus(-x)
    x <  0:  loss = l * softplus(x) - pos_weight * z * x      (the same function: softplus(-x) = softplus(x) - x)

so both terms are >= 0 for labels in [0, 1] and nothing cancels; tf.math.softplus is smooth at 0 (gradient
sigmoid), where the max(-x, 0) + log1p(exp(-|x|)) form has gradient 0 at x = 0.

Called like tf.nn.sigmoid_cross_entropy_with_logits(labels=, logits=) (and, when a case has a pos_weight,
like tf.nn.weighted_cross_entropy_with_logits(labels=, logits=, pos_weight=)). Check it with

    python -m conformance run --impl examples.tf_sigmoid_cross_entropy:sigmoid_cross_entropy \
        --op binary_cross_entropy_with_logits --signature tf --profile quick --out reports/examples/tf
"""
import tensorflow as tf


def sigmoid_cross_entropy(labels, logits, pos_weight=None):
    z, x = labels, logits
    pw = tf.ones_like(x) if pos_weight is None else tf.cast(pos_weight, x.dtype) * tf.ones_like(x)
    weight = 1 + (pw - 1) * z
    positive = (1 - z) * x + weight * tf.math.softplus(-x)
    negative = weight * tf.math.softplus(x) - pw * z * x
    return tf.where(x >= 0, positive, negative)
