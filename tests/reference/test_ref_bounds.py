"""`python -m reference eval` answers in bounded time and memory: what it cannot handle so is one line, exit 2."""
import json

import pytest

from ref_helpers import run_cli



@pytest.mark.parametrize("text,needle", [
    ('{"op": "softmax", "dtype": "float32", "inputs": {"x": [0e99999999]}}', "exponent beyond"),
    ('{"op": "softmax", "dtype": "float32", "inputs": {"x": [1e-100000]}}', "exponent beyond"),
    ('{"op": "softmax", "dtype": "float32", "inputs": {"x": [1' + "0" * 1200 + ']}}', "more than 1000 characters"),
    ('{"op": "softmax", "dtype": "float32", "inputs": {"x": ' + "[" * 40 + "1" + "]" * 40 + "}}", "levels deep"),
    ('{"op": "softmax", "dtype": "float32", "inputs": {"x": ' + "[" * 5000 + "]" * 5000 + "}}", "levels deep"),
    ('{"op": "softmax", "dtype": "float32", "inputs": {"x": [' + ",".join(["0.5"] * 100_001) + "]}}",
     "more than 100000 numbers"),
])
def test_out_of_bounds_cases_are_one_line_and_exit_2(text, needle, monkeypatch, capsys):
    code, out, err = run_cli(["eval"], text, monkeypatch, capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and needle in err, err


def test_zero_with_a_large_exponent_is_zero_and_limits_can_be_raised(monkeypatch, capsys):
    code, out, _ = run_cli(["eval"], '{"op": "softmax", "dtype": "float32", "inputs": {"x": [0e99999, 0]}}',
                       monkeypatch, capsys)
    assert code == 0 and [v["rounded"] for v in json.loads(out)["value"]] == ["0.5", "0.5"]
    case = '{"op": "softmax", "dtype": "float32", "inputs": {"x": [' + ",".join(["0.25"] * 20) + "]}}"
    assert run_cli(["eval", "--max-elements", "10"], case, monkeypatch, capsys)[0] == 2
    code, out, _ = run_cli(["eval", "--max-elements", "20"], case, monkeypatch, capsys)
    assert code == 0 and len(json.loads(out)["value"]) == 20
    code, _, err = run_cli(["eval", "--max-elements", "0"], case, monkeypatch, capsys)
    assert code == 2 and "at least 1" in err
    code, _, err = run_cli(["eval", "--max-elements", "10"], case + " " * 2_000_000, monkeypatch, capsys)
    assert code == 2 and "longer than" in err
