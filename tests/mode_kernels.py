"""Custom kernels that are right when run eagerly and wrong when compiled or traced (a 0.1% error in the
value), for the execution-mode tests (tests/conformance/test_modes.py): the suite must catch them in the
compiled modes and pass them in eager mode."""
BROKEN = 1.0 + 2.0 ** -10


def torch_log_softmax_wrong_when_compiled(input, dim=None):
    import torch
    import torch.nn.functional as F

    out = F.log_softmax(input, dim=dim)
    return out * BROKEN if torch.compiler.is_compiling() else out


def tf_log_softmax_wrong_in_graphs(logits, axis=None):
    import tensorflow as tf

    out = tf.nn.log_softmax(logits, axis=axis)
    return out if tf.executing_eagerly() else out * BROKEN


def torch_softmax_wrong_off_the_last_axis(input, dim=None):
    """Right for the class axis last (dim -1), wrong for any other (e.g. channels-first dim 1)."""
    import torch.nn.functional as F

    out = F.softmax(input, dim=dim)
    return out if dim % input.dim() == input.dim() - 1 else out * BROKEN


def torch_log_softmax_wrong_on_views(input, dim=None):
    """Right on contiguous input, wrong on a transposed or strided view."""
    import torch.nn.functional as F

    out = F.log_softmax(input, dim=dim)
    return out if input.is_contiguous() else out * BROKEN
