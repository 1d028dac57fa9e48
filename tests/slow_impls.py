"""A softmax computed in float16 whatever the input dtype (inaccurate for almost every float32/float64 input,
so Hypothesis finds a failure at once and shrinks it), slowed by CE_TEST_SLEEP_S seconds per call: for the
reproducibility test, where a slow machine must give the same records (signature "numpy": fn(**inputs,
**params))."""
import os
import time

import numpy as np


def half_softmax(x, axis=-1, **params):
    time.sleep(float(os.environ.get("CE_TEST_SLEEP_S", "0") or 0))
    x = np.asarray(x)
    with np.errstate(all="ignore"):
        h = x.astype(np.float16)
        e = np.exp(h - h.max(axis=axis, keepdims=True)) if h.size else h
        return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)
