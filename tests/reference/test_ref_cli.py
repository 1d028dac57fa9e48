"""python -m reference eval / golden: output format, exit codes, one-line errors, the golden corpus check."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ref_helpers import run_cli
from reference import cli, golden
from reference.decimal_io import NumberToken, parse_case_number
from reference.dtypes import DTYPES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = {"op": "cross_entropy", "dtype": "float32", "inputs": {"logits": [[1.0, 2.0, 3.0]], "target": [0]},
           "params": {"reduction": "mean"}}


def test_eval_example_from_the_issue(monkeypatch, capsys):
    code, out, err = run_cli(["eval"], json.dumps(EXAMPLE), monkeypatch, capsys)
    assert code == 0 and err == ""
    result = json.loads(out)
    assert result["certified"] is True
    assert result["value"]["exact"].startswith("2.4076059644443803")
    assert len(result["value"]["exact"].replace(".", "").lstrip("0")) >= 30
    rounded = result["value"]["rounded"]
    assert parse_case_number(NumberToken(rounded), DTYPES["float32"]) == float(np.float32(2.407606))  # round-trips
    grad = result["grad"]["logits"]
    assert len(grad) == 1 and len(grad[0]) == 3 and set(grad[0][0]) == {"exact", "rounded"}


def test_eval_reports_ieee_where_it_differs(monkeypatch, capsys):
    case = {"op": "softmax", "dtype": "float16", "inputs": {"x": [["inf", 0]]}}
    code, out, _ = run_cli(["eval"], json.dumps(case), monkeypatch, capsys)
    value = json.loads(out)["value"][0]
    assert code == 0
    assert value[0] == {"exact": "1", "rounded": "1.0", "ieee": "nan"}
    assert value[1] == {"exact": "0", "rounded": "0.0", "ieee": "nan"}


def test_eval_from_a_case_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({**EXAMPLE, "dtype": "bfloat16"}))
    code, out, _ = run_cli(["eval", "--case", str(path)], "", monkeypatch, capsys)
    assert code == 0 and json.loads(out)["value"]["rounded"] == "2.41"  # bfloat16 2.40625, shortest text


def test_eval_rounds_decimals_once_into_the_dtype(monkeypatch, capsys):
    # 1 + 2**-24 + 2**-60 written exactly: float64 would make it the float32 midpoint 1 + 2**-24 (then 1.0
    # by ties-to-even); rounded once it is 1 + 2**-23, whose sigmoid' differs from sigmoid'(1) = 0.19661193.
    exact = Fraction(1) + Fraction(1, 2 ** 24) + Fraction(1, 2 ** 60)
    k = 60
    digits = str(exact.numerator * 10 ** k // exact.denominator)
    text = '{"op": "sigmoid", "dtype": "float32", "inputs": {"x": [' + digits[0] + "." + digits[1:] + "]}}"
    code, out, _ = run_cli(["eval"], text, monkeypatch, capsys)
    assert code == 0
    assert json.loads(out)["grad"]["x"][0]["exact"].startswith("0.1966119")
    assert not json.loads(out)["grad"]["x"][0]["exact"].startswith("0.19661193")


BAD = {
    "malformed JSON": "{",
    "not an object": "[1, 2]",
    "unknown op": json.dumps({**EXAMPLE, "op": "crossentropy"}),
    "unknown dtype": json.dumps({**EXAMPLE, "dtype": "float8"}),
    "unknown param": json.dumps({**EXAMPLE, "params": {"reduce": "mean"}}),
    "bad param value": json.dumps({**EXAMPLE, "params": {"reduction": "avg"}}),
    "missing inputs": json.dumps({"op": "softmax", "dtype": "float32"}),
    "unknown input": json.dumps({"op": "softmax", "dtype": "float32", "inputs": {"x": [1], "z": [2]}}),
    "mismatched shapes": json.dumps({"op": "binary_cross_entropy", "dtype": "float32",
                                     "inputs": {"p": [0.5, 0.5], "y": [1]}}),
    "ragged array": json.dumps({"op": "softmax", "dtype": "float32", "inputs": {"x": [[1, 2], [3]]}}),
    "fractional label": json.dumps({**EXAMPLE, "inputs": {"logits": [[1, 2, 3]], "target": [0.5]}}),
    "out-of-range label": json.dumps({**EXAMPLE, "inputs": {"logits": [[1, 2, 3]], "target": [3]}}),
    "negative label": json.dumps({**EXAMPLE, "inputs": {"logits": [[1, 2, 3]], "target": [-1]}}),
    "malformed number": json.dumps({"op": "softmax", "dtype": "float32", "inputs": {"x": [[1, "1,5"]]}}),
    "boolean number": json.dumps({"op": "softmax", "dtype": "float32", "inputs": {"x": [[1, True]]}}),
}


@pytest.mark.parametrize("what", list(BAD))
def test_bad_input_is_one_line_and_exit_2(what, monkeypatch, capsys):
    code, out, err = run_cli(["eval"], BAD[what], monkeypatch, capsys)
    assert code == 2, what
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


@pytest.mark.parametrize("argv", [[], ["evaluate"], ["eval", "--case", "/nonexistent/case.json"],
                                  ["golden", "--bogus"]])
def test_bad_command_lines_exit_2(argv, monkeypatch, capsys):
    code, _, err = run_cli(argv, "", monkeypatch, capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_golden_generation_is_deterministic():
    assert golden.generate() == golden.generate()


def test_committed_golden_corpus_matches_a_regeneration():
    assert golden.check() == []


def test_golden_check_detects_hand_edits(tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "golden"
    shutil.copytree(golden.GOLDEN_DIR, corpus)
    assert cli.main(["golden", "--check", "--dir", str(corpus)]) == 0
    target = corpus / "cross_entropy.json"
    text = target.read_text()
    target.write_text(text.replace("1.833769239214943210555158135138440171047", "1.833769239214943210555158135138440171048", 1))
    assert cli.main(["golden", "--check", "--dir", str(corpus)]) == 1
    err = capsys.readouterr().err
    assert "cross_entropy.json: differs from a regeneration" in err
    assert "cross_entropy.json: checksum does not match MANIFEST.sha256" in err


def test_golden_check_detects_a_missing_file_and_a_stale_manifest(tmp_path, capsys):
    corpus = tmp_path / "golden"
    shutil.copytree(golden.GOLDEN_DIR, corpus)
    (corpus / "softmax.json").unlink()
    manifest = corpus / "MANIFEST.sha256"
    lines = manifest.read_text().splitlines()
    stale = [("0" * 64 + line[64:]) if line.endswith("  sigmoid.json") else line for line in lines]
    manifest.write_text("\n".join(stale) + "\n")
    assert cli.main(["golden", "--check", "--dir", str(corpus)]) == 1
    err = capsys.readouterr().err
    assert "softmax.json: missing" in err
    assert "sigmoid.json: checksum does not match MANIFEST.sha256" in err


def test_golden_write_then_check_round_trip(tmp_path, capsys):
    corpus = tmp_path / "fresh"
    assert cli.main(["golden", "--dir", str(corpus)]) == 0
    assert cli.main(["golden", "--check", "--dir", str(corpus)]) == 0
    assert (corpus / "MANIFEST.sha256").read_bytes() == (golden.GOLDEN_DIR / "MANIFEST.sha256").read_bytes()


def test_python_dash_m_reference_end_to_end():
    proc = subprocess.run([sys.executable, "-m", "reference", "eval"], input=json.dumps(EXAMPLE), text=True,
                          capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["value"]["exact"].startswith("2.4076059644443803")
    bad = subprocess.run([sys.executable, "-m", "reference", "eval"], input="{", text=True, capture_output=True,
                         cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
