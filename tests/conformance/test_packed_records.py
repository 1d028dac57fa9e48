"""Large arrays in results files are packed (conformance/results/packed.py) and every reader gets the plain
lists back: the results reader, --resume, report, compare, merge and replay; small records are written as
before, byte for byte; a damaged packed array is one clear error; a record keeps to its size bound."""
import base64
import hashlib
import json
import math

import numpy as np
import pytest

import reference
from conformance.results import packed
from conformance.results.errors import ResultsError
from conformance.results.load import load_results
from conformance.results.stream import ResultsWriter, read_jsonl, record_line, reference_json, tensor_json
from conformance.results.strict_json import dumps
from tests.conformance.test_untrusted import _record

IMPL = "custom:tests.fault_impls:softmax"


def _plain(x):
    return json.loads(dumps(x))


def test_number_lists_round_trip_exactly_in_their_own_dtype():
    rng = np.random.default_rng(0)
    a = rng.normal(size=2000)
    a[:6] = [np.inf, -np.inf, np.nan, -0.0, 5e-324, 1e308]
    with np.errstate(over="ignore"):
        narrow = (a.astype(np.float32), a.astype(np.float16))
    for arr, dtype in ((a, "float64"), (narrow[0], "float32"), (narrow[1], "float16")):
        values = tensor_json(arr)["data"]
        for given in (values, list(values)):  # from numbers_json (with its source array) and a plain list
            p = packed.pack_numbers(given, dtype)
            assert p["dtype"] == dtype and p["count"] == 2000
            back = packed.unpack_numbers(json.loads(json.dumps(p)))
            assert json.dumps(back) == json.dumps(_plain(values))
    ints = list(range(-5, 2000))
    assert packed.unpack_numbers(packed.pack_numbers(ints)) == ints
    # a float list that the tensor's dtype cannot hold exactly falls back to float64, still lossless
    odd = [0.1 * i for i in range(2000)]
    p = packed.pack_numbers(odd, "float32")
    assert p["dtype"] == "float64" and packed.unpack_numbers(p) == odd
    assert packed.pack_numbers([1, 2.5] * 1000) is None  # mixed ints and floats: written as it is
    assert packed.pack_numbers(["1.5"] * 2000) is None  # a string that is not inf / -inf / nan


def test_string_lists_are_packed_sparsely():
    exact = [None] * 3000
    exact[7], exact[2999] = "0.125", "nan"
    p = packed.pack_strings(exact)
    assert p == {"packed": "sparse", "count": 3000, "index": [7, 2999], "values": ["0.125", "nan"]}
    assert packed.unpack_strings(p) == exact
    assert packed.unpack_strings(packed.pack_strings([None] * 2000)) == [None] * 2000


def test_small_records_are_written_byte_for_byte_as_before():
    x = np.linspace(-3, 3, packed.PACK_MIN).astype(np.float32).reshape(4, -1)
    record = _record("small", IMPL, inputs={"x": tensor_json(x)})
    assert packed.pack_record(record) is record
    assert record_line(record) == dumps({"kind": "record", **record})


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.update(sha256="0" * 64), "does not match its sha256"),
    (lambda p: p.update(count=p["count"] + 1), "its count says"),
    (lambda p: p.update(b64=p["b64"][:-3]), "not base64"),
])
def test_a_damaged_packed_array_is_one_clear_error(tmp_path, damage, message):
    path = _write_run(tmp_path, _big_record())
    doc = json.loads(path.read_text())
    damage(doc["records"][0]["inputs"]["x"]["data"])
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsError, match=message) as err:
        load_results(path)
    assert "record 0.inputs.x.data" in str(err.value) and "\n" not in str(err.value)


def _big_record(case_id="big", rows=2, classes=1500, observed_shift=0):
    x = np.linspace(-3, 5, rows * classes).astype(np.float32).reshape(rows, classes)
    ref = reference.evaluate("softmax", "float32", {"x": x}, {"axis": -1})
    got = np.array(ref.value.rounded, dtype=np.float32)
    if observed_shift:
        got.reshape(-1)[::97] = np.nextafter(got.reshape(-1)[::97], np.float32(2))
    observed = {"value": tensor_json(got), "grad": {}, "warnings": []}
    return _record(case_id, IMPL, "custom:numpy", inputs={"x": tensor_json(x)},
                   reference=reference_json(ref, observed, {}), observed=observed,
                   ulp={"value": 1.0 if observed_shift else 0.0, "grad": {}},
                   bound_ratio={"value": 0.1, "grad": {}})


def _write_run(tmp_path, *records, name="run"):
    writer = ResultsWriter(tmp_path / name, {"schema_version": 1, "started": "2026-01-01T00:00:00+00:00",
                                             "profile": "quick", "seed": 0, "python": "3.11", "platform": "x",
                                             "frameworks": {"numpy": "2"}})
    for r in records:
        writer.write_cell([r])
    return writer.finish([], {}, {"total": len(records), "by_verdict": {"accurate": len(records)},
                                  "unexpected": 0}, {})


def test_results_json_and_jsonl_hold_packed_arrays_and_read_back_plain(tmp_path):
    record = _big_record()
    path = _write_run(tmp_path, record)
    on_disk = json.loads(path.read_text())["records"][0]
    assert on_disk["inputs"]["x"]["data"]["packed"] == "base64"
    assert on_disk["inputs"]["x"]["data"]["dtype"] == "float32"
    assert on_disk["reference"]["value"]["exact"]["packed"] == "sparse"
    assert on_disk["reference"]["value"]["rounded"]["packed"] == "base64"
    for source in (path, tmp_path / "run" / "results.jsonl"):
        got = load_results(source)["records"][0]
        assert got == _plain(record)
    _, records = read_jsonl(tmp_path / "run" / "results.jsonl")  # what --resume reads
    assert records[0] == _plain(record)
    assert len(path.read_text()) < len(dumps({"records": [record]}, indent=1)) / 2


def test_resume_keeps_packed_records_whole(tmp_path):
    record = _big_record()
    _write_run(tmp_path, record)
    writer = ResultsWriter(tmp_path / "run", {"schema_version": 1}, resume=True)
    assert writer.done_cells == {record["cell"]}
    path = writer.finish([], {}, {"total": 1, "by_verdict": {"accurate": 1}, "unexpected": 0}, {})
    assert json.loads(path.read_text())["records"][0]["inputs"]["x"]["data"]["packed"] == "base64"
    assert load_results(path)["records"][0] == _plain(record)
    assert load_results(tmp_path / "run" / "results.jsonl")["records"][0] == _plain(record)


def test_report_compare_merge_and_replay_read_packed_arrays(tmp_path, capsys):
    from conformance import cli
    from conformance.report import merge_runs, write_report
    from conformance.report.cli import compare_main

    a = _write_run(tmp_path, _big_record(), name="a")
    b = _write_run(tmp_path, _big_record(observed_shift=1), name="b")
    page = write_report(a, tmp_path / "report").read_text()
    assert "softmax" in page
    cells = list((tmp_path / "report").rglob("*.html"))
    assert any("0.0" in c.read_text() for c in cells)  # the drill-down's numbers come from the unpacked lists
    from conformance.report.compare_measure import differing_parts

    assert compare_main([str(a), str(b), "--format", "json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["old"] == str(a)
    ra, rb = load_results(a)["records"][0], load_results(b)["records"][0]
    assert differing_parts(ra, rb) == ["value"] and differing_parts(ra, load_results(a)["records"][0]) == []
    merged = merge_runs([a, tmp_path / "a" / "results.jsonl"], tmp_path / "merged.json")
    assert json.loads(merged.read_text())["records"][0]["inputs"]["x"]["data"]["packed"] == "base64"
    assert load_results(merged)["records"][0] == load_results(a)["records"][0]
    assert cli.main(["replay", "big", "--results", str(a), "--impl", "tests.fault_impls:softmax",
                     "--exact", "2999"]) == 0
    want = reference.evaluate("softmax", "float32", {"x": np.linspace(-3, 5, 3000).astype(np.float32)
                                                     .reshape(2, 1500)}, {"axis": -1}).value.exact.ravel()[2999]
    assert f"value[2999]: exact {want}" in capsys.readouterr().out


def test_a_large_record_keeps_to_its_size_bound():
    """docs/results.md, "Record size": at most RECORD_BASE bytes + 12 per element of its packed arrays +
    the exact strings it keeps (at most EXACT_ROWS per part of an accurate part)."""
    from conformance.results.stream import EXACT_ROWS, record_size_bound

    for rows, classes in ((1, 32768), (4, 2048), (2, 600)):
        record = _big_record(rows=rows, classes=classes, observed_shift=1)
        text = record_line(record)
        assert len(text.encode()) <= record_size_bound(record), (rows, classes)
        kept = [e for e in record["reference"]["value"]["exact"] if e is not None]
        assert len(kept) <= EXACT_ROWS + sum(1 for v in record["reference"]["value"]["rounded"] if v == 0)


def _old_way(x):
    """A record's lists as they were made before shared_numbers: one Python float per element (no source)."""
    return json.loads(json.dumps(x, default=list))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("rows, classes", [(1, 5), (3, 300), (1, 1500), (2, 2048), (1, 32768)])
def test_reference_lists_shared_with_the_observation_equal_those_made_anew(dtype, rows, classes):
    """Every size class (drill-down only, below PACK_MIN, packed, deferred): the reference part of a record
    whose rounded list reuses the observation's entries is the record made the old way, byte for byte, and
    packs to the same bytes; so are the parts where observed differs (NaN, signed zero, infinities, shifted
    values) and where it differs too much to share."""
    import ml_dtypes

    from conformance.execute.reference_cache import ReferenceCache

    rng = np.random.default_rng(rows * classes)
    nd = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    x = rng.normal(0.0, 3.0, (rows, classes)).astype(nd)
    y = rng.integers(0, classes, rows)
    ref = ReferenceCache(None).get("cross_entropy", dtype, {"logits": x, "target": y}, {})
    g = np.array(ref.grads["logits"].rounded, dtype=nd)
    shifted = g.copy().reshape(-1)
    shifted[::53] = np.nextafter(shifted[::53].astype(np.float32), np.float32(1)).astype(nd)
    special = g.copy().reshape(-1)
    special[:4] = [np.nan, np.inf, -np.inf, -0.0]
    far = -g  # every value differs: made anew
    for got in (g, shifted.reshape(g.shape), special.reshape(g.shape), far, g.astype(np.float64)):
        observed = {"value": tensor_json(np.array(ref.value.rounded, dtype=got.dtype)),
                    "grad": {"logits": tensor_json(got)}, "warnings": []}
        plain_observed = _old_way(observed)
        fast = reference_json(ref, observed, {})
        assert fast == reference_json(ref, plain_observed, {})
        assert dumps(fast) == dumps(_old_way(fast))
        assert record_line({"reference": fast, "observed": observed}) == \
            record_line({"reference": _old_way(fast), "observed": plain_observed})
        rounded = fast["grad"]["logits"]["rounded"]
        if got is g and g.size >= 1024:  # the common case: the observation's entries serve
            assert all(r is o for r, o in zip(rounded, observed["grad"]["logits"]["data"]))
        if rounded is not observed["grad"]["logits"]["data"] and len(rounded) > packed.PACK_MIN:
            assert packed.pack_numbers(rounded, dtype) == packed.pack_numbers(list(rounded), dtype)


def test_shared_numbers_reuses_entries_only_where_values_are_identical():
    from conformance.results.stream import numbers_json, shared_numbers

    a = np.linspace(-1, 1, 4000).astype(np.float32)
    a[:3] = [0.0, np.nan, np.inf]
    obs = a.copy()
    obs[0], obs[5] = -0.0, np.nextafter(obs[5], np.float32(2))
    like = numbers_json(obs)
    got = shared_numbers(a, like)
    assert got is not None and got == numbers_json(a)[:1] + ["nan"] + numbers_json(a)[2:]
    assert math.copysign(1.0, got[0]) == 1.0 and got[5] == float(a[5]) and got[5] is not like[5]
    assert got[2] == "inf" and got[10] is like[10]  # identical values: the observation's own float object
    assert np.array_equal(got.source, a, equal_nan=True) and got.source.dtype == a.dtype
    assert shared_numbers(a, list(like)) is None  # a plain list: no source to compare with
    assert shared_numbers(a[:100], numbers_json(obs[:100])) is None  # short lists are made directly
    assert shared_numbers(a, numbers_json(-obs)) is None  # most values differ: made directly
    assert shared_numbers(a, numbers_json(obs[:3999])) is None  # another length


@pytest.mark.parametrize("make", [lambda a: a[::2], lambda a: a.reshape(2, -1).T, lambda a: a.astype(">f8")])
def test_packed_bytes_of_views_and_other_byte_orders_are_the_little_endian_values(make):
    a = make(np.linspace(-2, 2, 4096))
    p = packed.pack_numbers(tensor_json(a)["data"], "float64")
    raw = np.ascontiguousarray(a, dtype="<f8").tobytes()
    assert p["sha256"] == hashlib.sha256(raw).hexdigest() and p["b64"] == base64.b64encode(raw).decode()
    assert packed.unpack_numbers(p) == np.asarray(a, dtype=np.float64).ravel().tolist()


def test_a_record_sent_from_a_lane_to_the_driver_arrives_whole():
    """A long NumberList pickles as its source array (lanes.py sends records by pickle): the record that
    arrives equals the one sent, writes the same line, and its lists keep their source arrays."""
    import pickle

    for record in (_big_record(rows=1, classes=4096, observed_shift=1), _big_record(rows=2, classes=300)):
        got = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        assert got == record and record_line(got) == record_line(record)
        sent, arrived = record["observed"]["value"]["data"], got["observed"]["value"]["data"]
        assert type(arrived) is packed.NumberList and np.array_equal(arrived.source, sent.source)
    big = tensor_json(np.array([np.nan, np.inf, -np.inf, -0.0] * 600, dtype=np.float32))["data"]
    blob = pickle.dumps(big)
    assert len(blob) < 4 * len(big) + 1000  # the float32 array, not 2,400 pickled floats
    back = pickle.loads(blob)
    assert json.dumps(back) == json.dumps(big) and back[:4] == ["nan", "inf", "-inf", -0.0]
