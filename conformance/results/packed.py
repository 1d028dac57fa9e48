"""Large arrays in results files: a compact, lossless, checksummed encoding (docs/results.md, "Record size").

A record's tensors hold one JSON number per element ("data" of a tensor; "rounded" and "ieee" of a reference
part) and one exact string or null per element ("exact"). Above PACK_MIN elements such a list is written
packed, and every reader gets the plain list back (conformance/results/load.py and stream.read_jsonl call
unpack_record): nothing after the reader ever sees the packed form.

    numbers: {"packed": "base64", "dtype": D, "count": n, "crc32": H, "b64": B}
             B: the n values as little-endian D (float64, float32, float16, bfloat16, int64), base64; D is the
             tensor's own float dtype where every value survives the round trip, else float64 (any JSON
             number or "inf" / "-inf" / "nan" does); int64 for integer lists. H: the CRC-32 of the raw bytes,
             8 hex digits (zlib.crc32: a checksum against damage, as gzip's; a file's writer could forge any
             unkeyed digest alike). Files written before hold "sha256" (SHA-256, 64 hex digits) instead:
             read and verified the same way.
             Unpacked: floats as floats, non-finite values as "inf" / "-inf" / "nan", integers as ints: the
             list that was packed.
    strings: {"packed": "sparse", "count": n, "index": [i, ...], "values": [s, ...]}
             the non-null entries of an n-element list of strings and nulls (indices increasing).
    a reference part's rounded values, where at most an eighth of them differ from what the record observed
    for the same part (most records: the observation is the correctly rounded value almost everywhere):
             {"packed": "delta", "of": "observed.PART", "count": n, "index": [i, ...], "values": [v, ...]}
             the n entries of observed.PART's "data" (PART: value, grad.NAME or derivs.KEY of the same
             record), with entry i replaced by v (JSON numbers and "inf" / "-inf" / "nan"; indices increasing).
             Only a record's top-level reference and its conventions' parts are packed so; readers resolve
             it after the rest of the record is unpacked.
A list is packed only when it is exactly one of those kinds (floats and the three non-finite strings;
integers; strings and nulls); anything else is written as it is. Records whose lists are all at most
PACK_MIN long are written byte for byte as before. A packed list that does not check out (count, length,
checksum, dtype, indices) is a ResultsError naming the record's field.
"""
from __future__ import annotations

import base64
import hashlib
import math
import secrets
import zlib

import ml_dtypes
import numpy as np

from conformance.results.errors import ResultsError
from conformance.results.number_lists import (PACK_MIN, LazyNumberList, NumberList, number_list,  # noqa: F401
                                              number_values)

_DTYPES = {"float64": np.dtype("<f8"), "float32": np.dtype("<f4"), "float16": np.dtype("<f2"),
           "bfloat16": np.dtype(ml_dtypes.bfloat16), "int64": np.dtype("<i8")}
_NONFINITE = {"inf": np.inf, "-inf": -np.inf, "nan": np.nan}
NUMBER_KEYS = ("data", "rounded", "ieee")
STRING_KEYS = ("exact",)


def _from_source(values: list) -> tuple[np.ndarray, str] | None:
    src = getattr(values, "source", None)
    if src is None or src.size != len(values):
        return None
    name = "bfloat16" if src.dtype == _DTYPES["bfloat16"] else str(src.dtype)
    if name not in ("float64", "float32", "float16", "bfloat16"):
        return None
    return src, name


def _float_values(values: list, kinds: set) -> np.ndarray | None:
    if kinds == {float}:
        return np.array(values, dtype=np.float64)
    if kinds <= {float, str} and all(v in _NONFINITE for v in values if type(v) is str):
        return np.array([_NONFINITE[v] if type(v) is str else v for v in values], dtype=np.float64)
    return None


def pack_numbers(values: list, dtype: str | None = None) -> dict | None:
    """The packed form of a number list (module docstring), or None when it is not one."""
    known = _from_source(values)
    if known is not None:
        return _packed(known[0], known[1], len(values))
    kinds = set(map(type, values))
    if kinds == {int}:
        try:
            arr = np.array(values, dtype="<i8")
        except OverflowError:
            return None
        name = "int64"
    else:
        arr = _float_values(values, kinds)
        if arr is None:
            return None
        name = "float64"
        if dtype in _DTYPES and dtype not in ("int64", "float64"):
            with np.errstate(all="ignore"):
                narrow = arr.astype(_DTYPES[dtype])
                back = narrow.astype(np.float64)
            same = back == arr
            if same.all() or np.array_equal(back, arr, equal_nan=True):
                if np.array_equal(np.signbit(back), np.signbit(arr)):
                    arr, name = narrow, dtype
    return _packed(arr, name, len(values))


def _packed(arr: np.ndarray, name: str, count: int) -> dict:
    # the array's own bytes (a contiguous little-endian array already: no copy), hashed and encoded in place
    raw = np.ascontiguousarray(arr.astype(_DTYPES[name], copy=False)).reshape(-1).view(np.uint8)
    return {"packed": "base64", "dtype": name, "count": count, "crc32": f"{zlib.crc32(raw):08x}",
            "b64": base64.b64encode(raw).decode("ascii")}


def unpack_numbers(obj: dict, where: str = "array") -> list:
    name, count = obj.get("dtype"), obj.get("count")
    if obj.get("packed") != "base64" or name not in _DTYPES or type(count) is not int or count < 0 \
            or not isinstance(obj.get("b64"), str):
        raise ResultsError(f"{where}: not a packed number list")
    try:
        raw = base64.b64decode(obj["b64"].encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise ResultsError(f"{where}: packed data is not base64") from None
    dt = _DTYPES[name]
    if len(raw) != count * dt.itemsize:
        raise ResultsError(f"{where}: packed data holds {len(raw) // dt.itemsize} values, its count says {count}")
    if "crc32" in obj:
        if f"{zlib.crc32(raw):08x}" != obj["crc32"]:
            raise ResultsError(f"{where}: packed data does not match its crc32 (damaged file?)")
    elif hashlib.sha256(raw).hexdigest() != obj.get("sha256"):
        raise ResultsError(f"{where}: packed data does not match its sha256 (damaged file?)")
    arr = np.frombuffer(raw, dtype=dt)
    if name == "int64":
        return arr.tolist()
    return number_values(arr)


def pack_strings(values: list) -> dict | None:
    if values.count(None) == len(values):
        return {"packed": "sparse", "count": len(values), "index": [], "values": []}
    if not set(map(type, values)) <= {str, type(None)}:
        return None
    index = [i for i, v in enumerate(values) if v is not None]
    return {"packed": "sparse", "count": len(values), "index": index, "values": [values[i] for i in index]}


def unpack_strings(obj: dict, where: str = "array") -> list:
    count, index, values = obj.get("count"), obj.get("index"), obj.get("values")
    if obj.get("packed") != "sparse" or type(count) is not int or count < 0 or not isinstance(index, list) \
            or not isinstance(values, list) or len(index) != len(values):
        raise ResultsError(f"{where}: not a packed string list")
    out: list = [None] * count
    last = -1
    for i, s in zip(index, values):
        if type(i) is not int or not last < i < count or not isinstance(s, str):
            raise ResultsError(f"{where}: packed string list has a bad index or value")
        out[i] = s
        last = i
    return out


def pack_record(obj, depth: int = 0, blobs: dict | None = None):
    """`obj` with every list above PACK_MIN of a tensor-like dict (one with a "shape") packed; the same
    object where nothing is packed (records of small tensors are written unchanged). Never mutates `obj`.
    `blobs`: {"token": a unique string}: each packed "b64" is then a placeholder `token.N`, its text stored
    under that placeholder in `blobs` (dumps_packed puts them in after encoding)."""
    if not isinstance(obj, dict) or depth > 12:
        return obj
    if depth == 0:
        obj = _pack_deltas(obj)
    out = None
    for k, v in obj.items():
        new = v
        if isinstance(v, dict):
            new = pack_record(v, depth + 1, blobs)
        elif isinstance(v, list) and len(v) > PACK_MIN and "shape" in obj:
            if k in NUMBER_KEYS:
                new = pack_numbers(v, obj.get("dtype")) or v
                if blobs is not None and new is not v:
                    key = f"{blobs['token']}.{len(blobs)}"
                    blobs[key], new["b64"] = new["b64"], key
            elif k in STRING_KEYS:
                new = pack_strings(v) or v
        if new is not v:
            if out is None:
                out = dict(obj)
            out[k] = new
    return obj if out is None else out


def unpack_record(obj, where: str = "record", depth: int = 0, observed: dict | None = None):
    """The inverse of pack_record: packed lists back to plain lists (checked; ResultsError otherwise).
    Returns the same object where nothing was packed; otherwise a copy along the changed paths. A record's
    observation is unpacked first: its parts (`observed`) are what the reference's deltas name."""
    if not isinstance(obj, dict) or depth > 12:
        return obj
    if depth == 0 and isinstance(obj.get("observed"), dict):
        unpacked = unpack_record(obj["observed"], f"{where}.observed", 1)
        obj = obj if unpacked is obj["observed"] else {**obj, "observed": unpacked}
        observed = _observed_tensors(obj)
    out = None
    for k, v in obj.items():
        if not isinstance(v, dict):
            continue
        if k == "rounded" and v.get("packed") == "delta" and "shape" in obj:
            new = _resolve_delta(v, observed or {}, f"{where}.{k}")
        elif "packed" in v and "shape" in obj and k in NUMBER_KEYS + STRING_KEYS:
            new = unpack_numbers(v, f"{where}.{k}") if k in NUMBER_KEYS else unpack_strings(v, f"{where}.{k}")
        else:
            new = unpack_record(v, f"{where}.{k}", depth + 1, observed)
        if new is not v:
            if out is None:
                out = dict(obj)
            out[k] = new
    return obj if out is None else out


def dumps_packed(obj: dict, dumps, **kwargs) -> str:
    """dumps(pack_record(obj)) without running the JSON encoder over the packed data: base64 text needs no
    escaping, so each packed array's text goes in after encoding, in place of its placeholder (a token
    with 64 random bits, which nothing else in the record holds)."""
    token = f"@packed-{secrets.token_hex(8)}"
    blobs = {"token": token}
    text = dumps(pack_record(obj, blobs=blobs), **kwargs)
    if len(blobs) == 1:
        return text
    pieces = text.split(f'"{token}.')
    out = [pieces[0]]
    for piece in pieces[1:]:  # 'N"' + the text up to the next placeholder
        n, rest = piece.split('"', 1)
        out += ['"', blobs[f"{token}.{n}"], '"', rest]
    return "".join(out)


DELTA_PARTS = 8  # a rounded list is packed as a delta when at most 1 / DELTA_PARTS of its entries differ


def _as_float64(values: list) -> np.ndarray | None:
    known = _from_source(values)
    if known is not None:
        return known[0].astype(np.float64).ravel()
    return _float_values(values, set(map(type, values)))


def _delta(rounded: list, observed: list, of: str) -> dict | None:
    """The delta packing of a reference part's rounded list against the observed list of the same part (module
    docstring), or None where that does not apply."""
    n = len(rounded)
    if not (isinstance(rounded, list) and isinstance(observed, list) and n > PACK_MIN and len(observed) == n):
        return None
    r, o = _as_float64(rounded), _as_float64(observed)
    if r is None or o is None:
        return None
    same = ((r == o) & (np.signbit(r) == np.signbit(o))) | (np.isnan(r) & np.isnan(o))
    index = np.flatnonzero(~same)
    if index.size > n // DELTA_PARTS:
        return None
    return {"packed": "delta", "of": of, "count": n, "index": index.tolist(), "values": number_values(r[index])}


def _observed_tensors(record: dict) -> dict:
    """{"observed.value": tensor, "observed.grad.NAME": ..., "observed.derivs.KEY": ...} of a record."""
    obs = record.get("observed")
    out = {}
    if not isinstance(obs, dict):
        return out
    if isinstance(obs.get("value"), dict):
        out["observed.value"] = obs["value"]
    for group in ("grad", "derivs"):
        for name, t in (obs.get(group) or {}).items() if isinstance(obs.get(group), dict) else ():
            if isinstance(t, dict):
                out[f"observed.{group}.{name}"] = t
    return out


def _reference_parts(ref: dict):
    """(container, key, "observed.PART") for each part of a record's reference (and its conventions')."""
    for holder in [ref, *((ref.get("conventions") or {}).values() if isinstance(ref.get("conventions"), dict)
                          else ())]:
        if not isinstance(holder, dict):
            continue
        if isinstance(holder.get("value"), dict):
            yield holder, "value", "observed.value"
        for group in ("grad", "derivs"):
            parts = holder.get(group)
            if isinstance(parts, dict):
                for name, t in parts.items():
                    if isinstance(t, dict):
                        yield parts, name, f"observed.{group}.{name}"


def _pack_deltas(record: dict) -> dict:
    """The record with each reference part's long rounded list packed as a delta against its observation where
    that applies (module docstring); the same object where none does. Never mutates `record`."""
    ref = record.get("reference")
    if not isinstance(ref, dict):
        return record
    observed = _observed_tensors(record)
    if not observed:
        return record
    replaced = {}
    for holder, key, of in _reference_parts(ref):
        t, obs = holder[key], observed.get(of)
        if obs is None or not isinstance(t.get("rounded"), list) or "shape" not in t:
            continue
        packed = _delta(t["rounded"], obs.get("data"), of)
        if packed is not None:
            replaced[(id(holder), key)] = {**t, "rounded": packed}
    if not replaced:
        return record

    def copy(obj, depth=0):
        if not isinstance(obj, dict) or depth > 4:
            return obj
        out = {k: replaced.get((id(obj), k)) or copy(v, depth + 1) for k, v in obj.items()}
        return out

    return {**record, "reference": copy(ref)}


def _resolve_delta(obj: dict, observed: dict, where: str) -> list:
    count, index, values, of = obj.get("count"), obj.get("index"), obj.get("values"), obj.get("of")
    if type(count) is not int or not isinstance(index, list) or not isinstance(values, list) \
            or len(index) != len(values) or not isinstance(of, str):
        raise ResultsError(f"{where}: not a packed delta")
    base = observed.get(of)
    data = base.get("data") if isinstance(base, dict) else None
    if not isinstance(data, list) or len(data) != count:
        raise ResultsError(f"{where}: its delta names {of!r}, which the record does not hold with {count} values")
    out = list(data)
    last = -1
    for i, v in zip(index, values):
        if type(i) is not int or not last < i < count or not (
                (type(v) in (int, float) and math.isfinite(v)) or v in _NONFINITE):
            raise ResultsError(f"{where}: packed delta has a bad index or value")
        out[i] = float(v) if type(v) is int else v
        last = i
    return out
