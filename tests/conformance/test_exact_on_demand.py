"""Exact strings only where a reader looks: a record keeps the exact decimals of the drill-down rows, the
failing elements, exact zeros and non-finite values, null elsewhere; the report's tables show digits on
every row they print; the record stays within its size bound for a large case."""
import json

import numpy as np

import reference
from conformance.judge.verdict import compare_part
from conformance.report.views import MAX_ROWS, _part_view
from conformance.results.stream import EXACT_ROWS, reference_json, shown_elements, tensor_json

ROWS, C = 2, 4096


def _case():
    rng = np.random.default_rng(3)
    logits = rng.normal(0.0, 3.0, (ROWS, C)).astype(np.float32)
    labels = rng.integers(0, C, ROWS)
    return logits, labels


def _observed(ref, bad: list[int]):
    """A fake observation: the correctly rounded gradient with a few elements pushed far off."""
    g = np.array(ref.grads["logits"].rounded, dtype=np.float32)
    flat = g.reshape(-1)
    for i in bad:
        flat[i] = np.nextafter(flat[i], np.float32(np.inf)) * np.float32(1.5)
    return g


def test_record_keeps_exact_strings_of_shown_failing_and_zero_elements_only():
    logits, labels = _case()
    ref = reference.evaluate("cross_entropy", "float32", {"logits": logits, "target": labels},
                             {"reduction": "none"})
    bad = [5, 17, 4000, 4096 + 9]
    g = _observed(ref, bad)
    part = compare_part(ref.grads["logits"], g, "float32", C)
    assert part.verdict == "inaccurate" and set(bad) <= set(part.failing)
    observed = {"value": tensor_json(np.asarray(ref.value.rounded)), "grad": {"logits": tensor_json(g)}}
    out = reference_json(ref, observed, {"grad:logits": part.failing})
    exact = out["grad"]["logits"]["exact"]
    assert len(exact) == ROWS * C
    kept = [i for i, e in enumerate(exact) if e is not None]
    full = [str(e) for e in np.asarray(ref.grads["logits"].exact, dtype=object).ravel()]
    assert all(exact[i] == full[i] for i in kept)  # the kept strings are the reference's own
    zeros_or_special = {i for i, e in enumerate(full) if float(e) == 0.0 or not np.isfinite(float(e))}
    shown = set(shown_elements(out["grad"]["logits"]["rounded"], observed["grad"]["logits"]["data"], "float32"))
    assert set(kept) == shown | set(part.failing) | zeros_or_special
    assert set(bad) <= shown and len(shown) == EXACT_ROWS
    assert len(kept) < 64  # bounded: not one per element
    # value part: 2 elements, all shown
    assert out["value"]["exact"] == [str(e) for e in np.asarray(ref.value.exact, dtype=object).ravel()]


def test_drill_down_rows_all_have_their_exact_digits():
    logits, labels = _case()
    ref = reference.evaluate("cross_entropy", "float32", {"logits": logits, "target": labels},
                             {"reduction": "none"})
    g = _observed(ref, [3, 4095, 5000])
    observed = {"value": tensor_json(np.asarray(ref.value.rounded)), "grad": {"logits": tensor_json(g)}}
    out = json.loads(json.dumps(reference_json(ref, observed, {})))
    view = _part_view("grad:logits", out["grad"]["logits"], observed["grad"]["logits"], 1.0, 1.0,
                      "grad:logits", "float32", None)
    assert len(view.rows) == MAX_ROWS
    assert all(row.exact != "—" for row in view.rows)
    assert {"[0, 3]", "[0, 4095]", "[1, 904]"} <= {row.index for row in view.rows}


def test_all_exact_keeps_every_string_and_small_parts_keep_all():
    logits, labels = _case()
    ref = reference.evaluate("cross_entropy", "float32", {"logits": logits[:, :4], "target": labels % 4})
    out = reference_json(ref, None, {})
    assert all(e is not None for e in out["grad"]["logits"]["exact"])  # 8 elements <= EXACT_ROWS: all shown
    big = reference.evaluate("cross_entropy", "float32", {"logits": logits, "target": labels})
    everything = reference_json(big, None, {}, all_exact=True)
    assert all(e is not None for e in everything["grad"]["logits"]["exact"])


def test_shown_elements_orders_differing_then_by_ulps_then_index():
    rounded = [1.0] * 20
    observed = [1.0] * 20
    observed[7] = 1.0000002  # a couple of float32 ulps
    observed[2] = "nan"  # non-finite mismatch: infinitely many ulps
    observed[15] = 1.0000001
    got = shown_elements(rounded, observed, "float32", limit=4)
    assert got == [0, 2, 7, 15]  # the three that differ, then the lowest index
    assert shown_elements(rounded[:3], observed[:3], "float32", limit=4) == [0, 1, 2]


def test_replay_recomputes_the_exact_digits_a_record_does_not_keep(tmp_path, capsys):
    from conformance import cli
    from tests.conformance.test_untrusted import _record, hostile_file

    x = np.linspace(-3, 5, 40).astype(np.float32).reshape(2, 20)
    record = _record("c1", "custom:tests.fault_impls:softmax", "custom:numpy",
                     inputs={"x": tensor_json(x)}, params={"axis": -1})
    doc = json.loads(hostile_file(tmp_path, tmp_path / "unused").read_text())
    doc["records"] = [record]
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(doc))
    assert cli.main(["replay", "c1", "--results", str(path), "--impl", "tests.fault_impls:softmax",
                     "--exact", "37", "--exact", "40"]) == 0
    out = capsys.readouterr().out
    want = reference.evaluate("softmax", "float32", {"x": x}, {"axis": -1}).value.exact.ravel()[37]
    assert f"value[37]: exact {want}, correctly rounded" in out
    assert "value[40]: no such element (40 elements)" in out


def test_numbers_json_is_number_json_of_every_element():
    from conformance.results.stream import number_json, numbers_json

    a = np.array([1.5, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1e308, 0.1], dtype=np.float64)
    for arr in (a, a.astype(np.float32), a.reshape(2, 4)):
        got = numbers_json(arr)
        want = [number_json(v) for v in np.asarray(arr).astype(np.float64).ravel()]
        assert json.dumps(got) == json.dumps(want)
