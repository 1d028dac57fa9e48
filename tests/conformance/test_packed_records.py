"""Large arrays in results files are packed (conformance/results/packed.py) and every reader gets the plain
lists back: the results reader, --resume, report, compare, merge and replay; small records are written as
before, byte for byte; a damaged packed array is one clear error; a record keeps to its size bound."""
import base64
import hashlib
import json
import math
import zlib

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


def test_arrays_packed_with_a_sha256_by_earlier_versions_still_read(tmp_path):
    """Files written before the CRC-32 hold a SHA-256 per packed array: read and verified the same way."""
    record = _big_record()
    path = _write_run(tmp_path, record)
    doc = json.loads(path.read_text())
    arr = doc["records"][0]["inputs"]["x"]["data"]
    raw = base64.b64decode(arr["b64"])
    assert arr.pop("crc32") == f"{zlib.crc32(raw):08x}"
    arr["sha256"] = hashlib.sha256(raw).hexdigest()
    path.write_text(json.dumps(doc))
    assert load_results(path)["records"][0] == _plain(record)


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


@pytest.mark.parametrize("shift, packing", [(0, "delta"), (97, "delta"), (7, "base64"), (1, "base64")])
def test_rounded_lists_are_packed_as_their_difference_from_the_observation(tmp_path, shift, packing):
    """A reference part's rounded list is written as the observation of the same part with the entries that
    differ (at most an eighth of them: every 97th or none here; every 7th or every one is written whole),
    and every reader gets the record back exactly, NaN, infinities and signed zeros included."""
    record = _big_record()
    got = np.array(record["observed"]["value"]["data"].source).reshape(-1)
    if shift:
        got[::shift] = np.nextafter(got[::shift], np.float32(2))
    got[:4] = [np.nan, np.inf, -0.0, 0.0]
    record["observed"]["value"] = tensor_json(got)
    record["reference"]["value"]["rounded"][5:7] = [0.0, "nan"]  # NaN and 0.0 against observed 0.0 and NaN
    path = _write_run(tmp_path, record)
    rounded = json.loads(path.read_text())["records"][0]["reference"]["value"]["rounded"]
    assert rounded["packed"] == packing
    if packing == "delta":
        r = np.array([float(v) for v in record["reference"]["value"]["rounded"]])
        differ = [i for i in range(got.size) if not (r[i] == got[i] and math.copysign(1, r[i]) ==
                  math.copysign(1, got[i]) or math.isnan(r[i]) and math.isnan(got[i]))]
        assert rounded["index"] == differ and 4 <= len(differ) <= got.size // 8
    for source in (path, tmp_path / "run" / "results.jsonl"):
        back = load_results(source)["records"][0]
        assert dumps(back) == dumps(_plain(record))


def test_a_conventions_rounded_values_are_deltas_of_the_observation_too(tmp_path):
    record = _big_record()
    shifted = np.array(record["reference"]["value"]["rounded"].source)
    shifted[::200] = np.nextafter(shifted[::200], np.float32(2))
    part = dict(record["reference"]["value"], rounded=tensor_json(shifted)["data"])
    record["reference"]["conventions"] = {"some_convention": {"value": part, "grad": {}}}
    path = _write_run(tmp_path, record)
    on_disk = json.loads(path.read_text())["records"][0]["reference"]["conventions"]["some_convention"]
    assert on_disk["value"]["rounded"]["packed"] == "delta" and len(on_disk["value"]["rounded"]["index"]) == 15
    assert dumps(load_results(path)["records"][0]) == dumps(_plain(record))


@pytest.mark.parametrize("field, damage, message", [
    ("inputs.x.data", lambda p: p.update(crc32="0" * 8), "does not match its crc32"),
    ("inputs.x.data", lambda p: p.update(sha256="0" * 64) or p.pop("crc32"), "does not match its sha256"),
    ("inputs.x.data", lambda p: p.update(count=p["count"] + 1), "its count says"),
    ("inputs.x.data", lambda p: p.update(b64=p["b64"][:-3]), "not base64"),
    ("reference.value.rounded", lambda d: d.update(of="observed.grad.x"), "which the record does not hold"),
    ("reference.value.rounded", lambda d: d.update(count=d["count"] - 1), "which the record does not hold"),
    ("reference.value.rounded", lambda d: d.update(index=[5, 3], values=[1.0, 2.0]), "bad index or value"),
    ("reference.value.rounded", lambda d: d.update(index=[3000], values=[1.0]), "bad index or value"),
    ("reference.value.rounded", lambda d: d.update(index=[3], values=["1.0"]), "not valid under any of the given"),
    ("reference.value.rounded", lambda d: d.update(values=[1.0]), "not a packed delta"),
])
def test_a_damaged_packed_array_is_one_clear_error(tmp_path, field, damage, message):
    """A packed array (base64 with its checksum, or a delta of the observation) that does not check out is
    one error line naming the record and the field."""
    path = _write_run(tmp_path, _big_record())
    doc = json.loads(path.read_text())
    target = doc["records"][0]
    for key in field.split("."):
        target = target[key]
    damage(target)
    path.write_text(json.dumps(doc))
    with pytest.raises(ResultsError, match=message) as err:
        load_results(path)
    assert field in str(err.value) and "\n" not in str(err.value)


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
    # observed is the rounded reference everywhere: the rounded list is "the observation, nothing changed"
    assert on_disk["reference"]["value"]["rounded"] == {"packed": "delta", "of": "observed.value", "count": 3000,
                                                          "index": [], "values": []}
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
    """A record's lists as plain lists: one Python float per element (no source array)."""
    return json.loads(json.dumps(x, default=list))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("rows, classes", [(1, 5), (3, 300), (1, 1500), (2, 2048), (1, 32768)])
def test_reference_lists_from_arrays_equal_those_made_as_plain_lists(dtype, rows, classes):
    """Every size class (drill-down only, below PACK_MIN, packed, deferred): a record's reference part built
    from lazy number lists is the record built from plain lists, byte for byte, and packs to the same bytes;
    so are the parts where observed differs (NaN, signed zero, infinities, shifted values) and where it
    differs too much for a delta. Building and writing the record makes no entry of a long list."""
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
    far = -g  # every value differs: no delta
    for got in (g, shifted.reshape(g.shape), special.reshape(g.shape), far, g.astype(np.float64)):
        observed = {"value": tensor_json(np.array(ref.value.rounded, dtype=got.dtype)),
                    "grad": {"logits": tensor_json(got)}, "warnings": []}
        fast = reference_json(ref, observed, {})
        line = record_line({"reference": fast, "observed": observed})
        if g.size > packed.PACK_MIN:
            assert type(fast["grad"]["logits"]["rounded"]) is packed.LazyNumberList
            assert type(observed["grad"]["logits"]["data"]) is packed.LazyNumberList
        plain_observed = _old_way(observed)
        assert fast == reference_json(ref, plain_observed, {})
        assert dumps(fast) == dumps(_old_way(fast))
        assert line == record_line({"reference": _old_way(fast), "observed": plain_observed})
        rounded = fast["grad"]["logits"]["rounded"]
        if len(rounded) > packed.PACK_MIN:
            assert packed.pack_numbers(rounded, dtype) == packed.pack_numbers(list(rounded), dtype)


@pytest.mark.parametrize("make", [lambda a: a[::2], lambda a: a.reshape(2, -1).T, lambda a: a.astype(">f8")])
def test_packed_bytes_of_views_and_other_byte_orders_are_the_little_endian_values(make):
    a = make(np.linspace(-2, 2, 4096))
    p = packed.pack_numbers(tensor_json(a)["data"], "float64")
    raw = np.ascontiguousarray(a, dtype="<f8").tobytes()
    assert p["crc32"] == f"{zlib.crc32(raw):08x}" and p["b64"] == base64.b64encode(raw).decode()
    assert packed.unpack_numbers(p) == np.asarray(a, dtype=np.float64).ravel().tolist()


def test_a_record_sent_from_a_lane_to_the_driver_arrives_whole():
    """A long NumberList pickles as its source array (lanes.py sends records by pickle): the record that
    arrives equals the one sent, writes the same line, and its lists keep their source arrays."""
    import pickle

    for record in (_big_record(rows=1, classes=4096, observed_shift=1), _big_record(rows=2, classes=300)):
        got = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        sent, arrived = record["observed"]["value"]["data"], got["observed"]["value"]["data"]
        assert type(arrived) is packed.LazyNumberList and np.array_equal(arrived.source, sent.source)
        assert record_line(got) == record_line(record)
        assert type(arrived) is (packed.LazyNumberList if len(arrived) > packed.PACK_MIN else packed.NumberList)
        assert got == record
    big = tensor_json(np.array([np.nan, np.inf, -np.inf, -0.0] * 600, dtype=np.float32))["data"]
    blob = pickle.dumps(big)
    assert len(blob) < 4 * len(big) + 1000  # the float32 array, not 2,400 pickled floats
    back = pickle.loads(blob)
    assert json.dumps(back) == json.dumps(big) and back[:4] == ["nan", "inf", "-inf", -0.0]
