"""Implementations that misbehave on purpose, for the isolation tests (signature "numpy": fn(**inputs, **params)).

    segfault  kills its own process with SIGSEGV      -> crashed
    abort     calls abort() (a failed C++ check)      -> crashed
    hang      sleeps forever                          -> timeout
    raises    raises ValueError with markup inside    -> error_behaviour_mismatch, message kept as text
    softmax   a correct numpy softmax (float64 inside, rounded once): the run goes on around the others
    orphan, hungry, impossible, chatty: see below (process groups, memory cap, captured output)
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


# containment (tests/conformance/test_containment.py) ----------------------------------------------------------

def orphan(x, **params):
    """Starts `sleep 600` and returns at once (a correct softmax): the child must not outlive the run. Its pid
    goes to the file named by $CE_TEST_PID_FILE."""
    import subprocess

    child = subprocess.Popen(["sleep", "600"])
    with open(os.environ["CE_TEST_PID_FILE"], "a") as f:
        f.write(f"{child.pid}\n")
    return softmax(x, **params)


def hungry(x, **params):
    """Allocates and touches 2 GiB (more than a 1 GiB --max-worker-memory allows)."""
    block = np.ones((2 << 30) // 8)
    return softmax(x, **params) + 0 * block[0]


def impossible(x, **params):
    """Asks for an allocation no machine has: numpy raises MemoryError at once."""
    np.empty(1 << 56, dtype=np.uint8)  # 64 PiB


def chatty(x, **params):
    """Prints 5 MB to stdout and some to stderr (from C-level writes too), then returns a correct softmax."""
    import sys

    line = "x" * 99 + "\n"
    sys.stdout.write(line * 50_000)
    sys.stderr.write("to stderr\n")
    os.write(1, b"raw fd write\n")
    return softmax(x, **params)
