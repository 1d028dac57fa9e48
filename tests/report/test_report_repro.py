"""The reproduction snippet rebuilds the exact inputs and calls the implementation through its adapter."""
from __future__ import annotations

import numpy as np
import pytest

from conformance.report.repro import python_snippet, replay_command
from report_fixtures import record, tensor


def test_replay_command_quotes_the_case_id():
    cmd = replay_command("ce(logits=[inf,0],y=0)", "out dir/results.json", "torch.x[class]", "float16")
    assert cmd == ("python -m conformance replay 'ce(logits=[inf,0],y=0)' --results 'out dir/results.json' "
                   "--implementation 'torch.x[class]' --dtype float16")


def test_snippet_inputs_are_exact_for_every_dtype():
    pytest.importorskip("ml_dtypes")
    import ml_dtypes

    for dtype, np_dtype in (("float32", np.float32), ("float16", np.float16), ("bfloat16", ml_dtypes.bfloat16)):
        values = [float(np.array(v).astype(np_dtype)) for v in (0.1, -3.3e-5, 1e4)] + [float("inf"), float("nan")]
        r = record("some.impl", "custom:torch", "softmax", dtype, "c", {"x": tensor(dtype, (5,), values)}, {},
                   [0, 0, 0, 0, 0], (5,))
        scope: dict = {}
        exec(python_snippet(r), scope)  # custom:... rows: inputs only, no adapter call
        x = scope["inputs"]["x"]
        assert x.dtype == np.dtype(np_dtype)
        assert np.array_equal(x.astype(np.float64), np.array(values), equal_nan=True)


def test_snippet_runs_through_the_torch_adapter():
    torch = pytest.importorskip("torch")
    adapters = pytest.importorskip("conformance.adapters")
    if not hasattr(adapters, "implementations_for"):
        pytest.skip("conformance.adapters has no implementations_for yet")
    x = [0.5, -1.25, 2.0, 3.0, 0.0, -0.75]
    r = record("torch.nn.functional.log_softmax", "torch", "log_softmax", "float32", "c",
               {"x": tensor("float32", (2, 3), x)}, {"axis": -1}, [0] * 6, (2, 3))
    scope: dict = {"print": lambda *a: None}
    exec(python_snippet(r), scope)
    direct = torch.log_softmax(torch.tensor(x, dtype=torch.float32).reshape(2, 3), dim=-1).detach().numpy()
    assert np.array_equal(np.asarray(scope["obs"].value), direct)
    assert scope["logits_t" if "logits_t" in scope else "x_t"].dtype == torch.float32
