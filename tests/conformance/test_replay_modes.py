"""`conformance replay` re-runs a derivative-mode record (vjp / jvp / hvp) with the cotangent and tangents it
was asked with (its `derivative_request`), judging the same derivative parts; a malformed request is one line
and exit 2."""
import json

from conformance import cli
from tests.installed_helpers import needs

SIGMOID_X = {"x": {"dtype": "float64", "shape": [3], "data": [0.5, -1.0, 3.0]}}
REQUEST = {"cotangent": {"dtype": "float64", "shape": [3], "data": [2.0, -3.0, 0.25]},
           "tangents": {"x": {"dtype": "float64", "shape": [3], "data": [1.0, 0.5, -2.0]}}, "hvp": True}


def _record(case_id, implementation, framework, request, verdict="accurate"):
    return {"cell": f"{implementation}|float64|cpu", "implementation": implementation, "framework": framework,
            "framework_version": None, "op": "sigmoid", "dtype": "float64", "device": "cpu", "case_id": case_id,
            "source": "catalog", "params": {}, "inputs": SIGMOID_X, "reference": None, "observed": None,
            "exception": None, "ulp": {}, "bound_ratio": {}, "verdict": verdict, "part": None, "detail": "",
            "convention": None, "known_divergence": None, "unexpected": False, "minimal": False, "seed": None,
            "elapsed_s": 0.0, "derivative_request": request}


def _file(tmp_path, records):
    doc = {"schema_version": 1,
           "run": {"started": "2026-01-01T00:00:00+00:00", "profile": "ci", "seed": 0, "python": "3.11",
                   "platform": "x", "frameworks": {"torch": "2"}},
           "implementations": [], "records": records,
           "summary": {"total": len(records), "by_verdict": {}, "unexpected": 0}}
    path = tmp_path / "modes.json"
    path.write_text(json.dumps(doc))
    return path


@needs("torch")
def test_replay_reruns_a_mode_record_with_its_cotangent_and_tangents(tmp_path, capsys):
    path = _file(tmp_path, [_record("m1", "torch.sigmoid", "torch", REQUEST)])
    assert cli.main(["replay", "m1", "--results", str(path)]) == 0
    out = capsys.readouterr().out
    assert "torch.sigmoid|float64|cpu m1: " in out  # (its hvp at x = 3 is torch's known double-backward
    # cancellation: judged, explained, exit 0)
    assert "derivative parts (cotangent given, tangents x, hvp True): hvp:x, jvp:x, vjp:x" in out


@needs("torch")
def test_replay_of_a_mode_record_catches_a_backward_that_ignores_the_cotangent(tmp_path, capsys):
    """Right with cotangent ones (a plain record of it passes), wrong with this record's cotangent: replay
    must use the recorded cotangent to see it."""
    impl = "custom:tests.custom_kernels:torch_sigmoid_ignores_cotangent"
    path = _file(tmp_path, [_record("m2", impl, "custom:torch", REQUEST)])
    code = cli.main(["replay", "m2", "--results", str(path), "--impl", impl[len("custom:"):]])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "m2: inaccurate" in out or "m2: special_value_mismatch" in out, out
    plain = dict(_record("m3", impl, "custom:torch", None))
    del plain["derivative_request"]
    path = _file(tmp_path, [plain])
    assert cli.main(["replay", "m3", "--results", str(path), "--impl", impl[len("custom:"):]]) == 0


@needs("torch")
def test_replay_of_weight_gradients_with_torch(tmp_path, capsys):
    """A mode record of a weighted torch cross_entropy with probability targets asks vjp:weight (torch lets
    its weight= require grad there): replay gets it from torch.autograd.grad and judges it against the
    reference's certified weight derivative (reference.derivs.weights)."""
    f64 = lambda shape, data: {"dtype": "float64", "shape": shape, "data": data}  # noqa: E731
    r = _record("w1", "torch.nn.functional.cross_entropy[probs]", "torch",
                {"cotangent": f64([], [-2.0]), "tangents": {}, "hvp": False, "param_grads": ["weight"]})
    r.update(op="cross_entropy", inputs={"logits": f64([2, 3], [1.0, 2.0, 3.0, 0.0, -1.0, 0.5]),
                                         "target": f64([2, 3], [0.25, 0.25, 0.5, 1.0, 0.0, 0.0])},
             params={"axis": 1, "weight": [0.5, 2.0, 1.5], "reduction": "mean", "mean_denominator": "count"})
    path = _file(tmp_path, [r])
    assert cli.main(["replay", "w1", "--results", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("w1: accurate" in out or "w1: stable" in out) and "d/dweight): vjp:logits, vjp:target, vjp:weight" in out
    assert "'vjp:weight': 0.0" in out or "'vjp:weight': 1.0" in out or "'vjp:weight': 2.0" in out, out


def test_replay_refuses_a_malformed_derivative_request(tmp_path, capsys):
    bad = [
        {**REQUEST, "tangents": {"x": {"dtype": "float64", "shape": [2], "data": [1.0, 2.0]}}},  # wrong shape
        {**REQUEST, "tangents": {"y": REQUEST["tangents"]["x"]}},  # not an input
        {**REQUEST, "cotangent": {"dtype": "object", "shape": [3], "data": [1, 2, 3]}},  # dtype off the list
        {**REQUEST, "hvp": "yes"},
        {**REQUEST, "param_grads": ["__class__"]},
        ["not", "an", "object"],
    ]
    path = _file(tmp_path, [_record(f"b{i}", "torch.sigmoid", "torch", r) for i, r in enumerate(bad)])
    for i in range(len(bad)):
        assert cli.main(["replay", f"b{i}", "--results", str(path)]) == 2, i
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
