"""A crash, a hang or an exception kills only its own case; the worker comes back for the next one."""
import numpy as np

from conformance.adapters.custom import CustomSpec
from conformance.execute.worker import Worker

X = {"x": np.asarray([[0.0, 1.0]], np.float32)}
PARAMS = {"axis": -1}


def worker_for(*names, timeout=60.0):
    specs = [CustomSpec(f"tests.fault_impls:{n}", "softmax", "numpy") for n in names]
    return Worker("custom:numpy", specs, timeout=timeout)


def call(worker, name, timeout=None):
    return worker.call(f"custom:tests.fault_impls:{name}", X, PARAMS, "float32", "cpu", (), timeout=timeout)


def test_segfault_and_abort_are_crashes_and_the_worker_restarts():
    w = worker_for("segfault", "abort", "softmax")
    try:
        status, detail = call(w, "segfault")
        assert status == "crashed" and "SIGSEGV" in detail
        status, detail = call(w, "abort")
        assert status == "crashed" and "SIGABRT" in detail
        status, observed = call(w, "softmax")
        assert status == "ok"
        np.testing.assert_allclose(observed.value, [[0.26894143, 0.7310586]], rtol=1e-6)
        assert w.restarts == 2
    finally:
        w.stop()


def test_hang_times_out_and_the_worker_restarts():
    w = worker_for("hang", "softmax")
    try:
        status, detail = call(w, "hang", timeout=2.0)
        assert status == "timeout" and "2 s" in detail
        assert call(w, "softmax")[0] == "ok"
    finally:
        w.stop()


def test_exceptions_are_data_with_type_and_message():
    w = worker_for("raises")
    try:
        status, (etype, message) = call(w, "raises")
        assert status == "raised" and etype == "ValueError" and "<script>" in message
    finally:
        w.stop()
