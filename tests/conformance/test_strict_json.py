"""One JSON encoding for non-finite numbers: every file a run, merge, compare and a pytest session write is
read by a strict parser (no bare NaN / Infinity tokens), on a run that really produces NaN and inf."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.results.strict_json import dumps, finite, strict_loads
from tests.installed_helpers import needs

ROOT = Path(__file__).resolve().parents[2]


def test_finite_encodes_every_non_finite_float_and_dumps_refuses_the_rest():
    doc = {"a": [float("nan"), float("inf"), -np.inf, np.float32("nan"), 1.5, np.float64(2.0)], "b": (np.inf,)}
    assert finite(doc) == {"a": ["nan", "inf", "-inf", "nan", 1.5, 2.0], "b": ["inf"]}
    assert strict_loads(dumps(doc)) == finite(doc)
    with pytest.raises(ValueError, match="bare NaN"):
        strict_loads('{"x": NaN}')
    with pytest.raises(ValueError):
        json.dumps({"x": float("nan")}, allow_nan=False)  # what dumps guarantees never reaches a file


def _conformance(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "conformance", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return result


@needs("torch")
def test_no_file_the_suite_writes_holds_a_bare_nan_or_infinity(tmp_path):
    run = tmp_path / "run"
    # the naive softmax-then-log cross-entropy: NaN losses and gradients, infinite ULP errors
    _conformance("run", "--impl", "examples.naive_cross_entropy:cross_entropy", "--op", "cross_entropy",
                 "--signature", "torch", "--dtypes", "float32", "--profile", "quick", "--examples", "3",
                 "--no-cache", "--out", str(run), "--write-corpus", str(tmp_path / "corpus.json"))
    _conformance("merge", str(run / "results.json"), str(run / "results.jsonl"), "--out", str(tmp_path / "merged.json"))
    compared = _conformance("compare", str(run / "results.json"), str(tmp_path / "merged.json"), "--format", "json",
                            "--out", str(tmp_path / "compare"))
    (tmp_path / "compare.json").write_text(compared.stdout)
    files = sorted(p for p in tmp_path.rglob("*") if p.suffix in (".json", ".jsonl"))
    assert {p.name for p in files} >= {"results.json", "results.jsonl", "merged.json", "compare.json", "corpus.json"}
    for path in files:
        text = path.read_text()
        for line in (text.splitlines() if path.suffix == ".jsonl" else [text]):
            if line.strip():
                strict_loads(line)  # raises on NaN / Infinity / -Infinity
    records = strict_loads((run / "results.json").read_text())["records"]
    ulps = [r["ulp"].get("value") for r in records if r.get("ulp")]
    observed = [v for r in records if r.get("observed") for v in r["observed"]["value"]["data"]]
    assert "inf" in ulps and "nan" in observed  # the run did produce non-finite numbers, encoded as strings
    from conformance.results.load import validate

    validate(strict_loads((tmp_path / "merged.json").read_text()), "merged")  # and the schema accepts them


def test_the_direct_encoding_is_the_text_finite_gives():
    import numpy as np

    from conformance.results.strict_json import dumps, finite

    docs = [{"a": [1.5, -0.0, 5e-324, 1e308], "b": (1, True, None, "x"), "c": {"d": np.float64(0.1)}},
            {"a": [float("nan"), 1.0], "b": np.float32(2.5)}, [np.float16(1.0), {"inf": float("-inf")}]]
    for doc in docs:
        assert dumps(doc) == json.dumps(finite(doc), allow_nan=False)
        assert dumps(doc, indent=1) == json.dumps(finite(doc), allow_nan=False, indent=1)
