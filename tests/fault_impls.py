"""Implementations that misbehave on purpose, for the isolation tests (signature "numpy": fn(**inputs, **params)).

    segfault  kills its own process with SIGSEGV      -> crashed
    abort     calls abort() (a failed C++ check)      -> crashed
    hang      sleeps forever                          -> timeout
    raises    raises ValueError with markup inside    -> error_behaviour_mismatch, message kept as text
    softmax   a correct numpy softmax (float64 inside, rounded once): the run goes on around the others
"""
import os
import signal
import time

import numpy as np


def segfault(x, **params):
    os.kill(os.getpid(), signal.SIGSEGV)


def abort(x, **params):
    os.abort()


def hang(x, **params):
    time.sleep(10**6)


def raises(x, **params):
    raise ValueError("<script>alert('x')</script> bad things")


def softmax(x, axis=-1, **params):
    x64 = np.asarray(x, dtype=np.float64)
    if x64.size == 0:
        return np.asarray(x)
    m = np.max(x64, axis=axis, keepdims=True)
    e = np.exp(x64 - m)
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.asarray(x).dtype)
