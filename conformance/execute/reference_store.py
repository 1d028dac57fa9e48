"""The reference cache on disk: plain data with a checksum, verified on every read, bounded in size.

Layout: CACHE_DIR/<fingerprint>/<key[:2]>/<key>.json, one file per case key (Case.key(): op, dtype, params and
the exact input bits). The fingerprint (refcache.reference_fingerprint) hashes the reference's source files,
python-flint's version and this format, so a changed reference never reads an old answer.

An entry is two parts, nothing else:

    ce-refcache 2 <sha256 of the payload, 64 lowercase hex digits>\\n<payload>

payload: compact JSON {"key": the case key, "result": ...}, where the result is either a reference answer
{"op", "dtype", "precision_bits", "value": array, "grads": {name: array}} (+ "derivs": {part: array} for a
mode case: reference.derivs) (array: "exact" decimal strings,
"rounded" / "cond" / "certified" / "ieee" as little-endian raw bytes in base64 with their dtype from an
allow-list and shape) or an error {"error": UndefinedError | CaseError | ReferenceFailure, "message": text}.
Nothing read back is deserialised into objects, imported or evaluated. A file whose header, checksum, key or structure does not check
out is a damaged entry: it is discarded (the caller recomputes, overwrites it and counts it), never believed.

Size: at most KEEP_FINGERPRINTS fingerprint directories are kept (the least recently used others are removed
when a store opens), and the current one is held under max_bytes (DEFAULT_MAX_BYTES, or
$CE_CONFORMANCE_CACHE_MAX_MB): when it is over at opening, its oldest entries go until it is under 80%;
during a run, entries that would pass the cap are not written.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import ml_dtypes
import numpy as np

from reference.errors import CaseError, UndefinedError
from reference.result import RefArray, RefResult

MAGIC = b"ce-refcache 3 "
MAX_WARNINGS = 64  # warning texts kept per entry, each at most 1,000 characters
KEEP_FINGERPRINTS = 3
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB per fingerprint
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
_KEY = re.compile(r"^[0-9a-f]{64}$")
_ARRAY_DTYPES = {"float64": np.dtype("<f8"), "float32": np.dtype("<f4"), "float16": np.dtype("<f2"),
                 "bfloat16": np.dtype(ml_dtypes.bfloat16), "bool": np.dtype("bool")}


class ReferenceFailure(Exception):
    """The reference could not evaluate a case (a defect of the reference, reported as uncertified)."""


ERRORS = {"UndefinedError": UndefinedError, "CaseError": CaseError, "ReferenceFailure": ReferenceFailure}


class BadEntry(Exception):
    """A cache file that is not a well-formed entry for its key."""


# ---- codec ----------------------------------------------------------------------------------------------

def _dtype_name(dt: np.dtype) -> str:
    for name, known in _ARRAY_DTYPES.items():
        if np.dtype(dt) == known:
            return name
    raise TypeError(f"cannot cache an array of dtype {dt}")


def _raw(a) -> dict:
    a = np.asarray(a)
    name = _dtype_name(a.dtype)
    data = np.ascontiguousarray(a, dtype=_ARRAY_DTYPES[name]).tobytes()
    return {"dtype": name, "shape": list(a.shape), "b64": base64.b64encode(data).decode("ascii")}


def _shape(obj) -> tuple:
    if not isinstance(obj, list) or len(obj) > 32 or not all(
            type(d) is int and 0 <= d < 1 << 40 for d in obj):
        raise BadEntry("bad shape")
    return tuple(obj)


def _from_raw(obj) -> np.ndarray:
    if not isinstance(obj, dict) or set(obj) != {"dtype", "shape", "b64"} or obj["dtype"] not in _ARRAY_DTYPES:
        raise BadEntry("bad array")
    dt, shape = _ARRAY_DTYPES[obj["dtype"]], _shape(obj["shape"])
    if not isinstance(obj["b64"], str):
        raise BadEntry("bad array data")
    data = base64.b64decode(obj["b64"].encode("ascii"), validate=True)
    if len(data) != math.prod(shape) * dt.itemsize:
        raise BadEntry("array data does not fill its shape")
    return np.frombuffer(data, dtype=dt).reshape(shape).copy()


def _array_json(a: RefArray) -> dict:
    exact = np.asarray(a.exact, dtype=object)
    return {"exact": [str(e) for e in exact.ravel()], "exact_shape": list(exact.shape), "rounded": _raw(a.rounded),
            "cond": _raw(a.cond), "certified": _raw(a.certified),
            "ieee": None if a.ieee is None else _raw(a.ieee)}


def _array(obj) -> RefArray:
    if not isinstance(obj, dict) or set(obj) != {"exact", "exact_shape", "rounded", "cond", "certified", "ieee"}:
        raise BadEntry("bad reference array")
    shape = _shape(obj["exact_shape"])
    if not isinstance(obj["exact"], list) or not all(isinstance(e, str) for e in obj["exact"]):
        raise BadEntry("bad exact strings")
    if len(obj["exact"]) != math.prod(shape):
        raise BadEntry("exact strings do not fill their shape")
    exact = np.empty(len(obj["exact"]), dtype=object)
    exact[:] = obj["exact"]
    rounded, cond, certified = (_from_raw(obj[k]) for k in ("rounded", "cond", "certified"))
    ieee = None if obj["ieee"] is None else _from_raw(obj["ieee"])
    if cond.dtype != np.float64 or certified.dtype != bool or any(
            x.shape != shape for x in (rounded, cond, certified) + ((ieee,) if ieee is not None else ())):
        raise BadEntry("reference array parts disagree")
    return RefArray(exact=exact.reshape(shape), rounded=rounded, cond=cond, certified=certified, ieee=ieee)


def result_json(result) -> dict:
    if isinstance(result, Exception):
        name = type(result).__name__
        if name not in ERRORS or type(result) is not ERRORS[name]:
            raise TypeError(f"cannot cache a {name}")
        return {"error": name, "message": str(result)}
    out = {"op": result.op, "dtype": result.dtype, "precision_bits": int(result.precision_bits),
           "value": _array_json(result.value), "grads": {k: _array_json(g) for k, g in result.grads.items()}}
    if getattr(result, "derivs", None):  # a mode case's vjp:IN / jvp:IN / hvp:IN (reference.derivs)
        out["derivs"] = {k: _array_json(d) for k, d in result.derivs.items()}
    return out


def result_from_json(obj):
    if not isinstance(obj, dict):
        raise BadEntry("bad result")
    if "error" in obj:
        if set(obj) != {"error", "message"} or obj["error"] not in ERRORS or not isinstance(obj["message"], str):
            raise BadEntry("bad error entry")
        return ERRORS[obj["error"]](obj["message"])
    if set(obj) - {"derivs"} != {"op", "dtype", "precision_bits", "value", "grads"} or \
            not isinstance(obj["grads"], dict) or not isinstance(obj.get("derivs", {}), dict):
        raise BadEntry("bad result entry")
    if not (isinstance(obj["op"], str) and obj["dtype"] in _ARRAY_DTYPES and type(obj["precision_bits"]) is int):
        raise BadEntry("bad result fields")
    return RefResult(op=obj["op"], dtype=obj["dtype"], value=_array(obj["value"]),
                     grads={str(k): _array(v) for k, v in obj["grads"].items()},
                     precision_bits=obj["precision_bits"],
                     derivs={str(k): _array(v) for k, v in obj.get("derivs", {}).items()})


def encode(key: str, result, warnings=()) -> bytes:
    texts = [str(w)[:1000] for w in list(warnings)[:MAX_WARNINGS]]
    payload = json.dumps({"key": key, "result": result_json(result), "warnings": texts}, sort_keys=True,
                         separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")
    return MAGIC + hashlib.sha256(payload).hexdigest().encode("ascii") + b"\n" + payload


def decode(key: str, data: bytes):
    """The result stored in an entry for `key`; BadEntry for anything that does not check out."""
    return decode_entry(key, data)[0]


def decode_entry(key: str, data: bytes) -> tuple:
    """(result, warning texts) stored in an entry for `key`; BadEntry for anything that does not check out."""
    head = len(MAGIC) + 64
    if len(data) < head + 1 or not data.startswith(MAGIC) or data[head:head + 1] != b"\n":
        raise BadEntry("bad header")
    payload = data[head + 1:]
    if data[len(MAGIC):head] != hashlib.sha256(payload).hexdigest().encode("ascii"):
        raise BadEntry("checksum mismatch")
    try:
        obj = json.loads(payload.decode("ascii"))
    except (ValueError, RecursionError):
        raise BadEntry("payload is not JSON") from None
    if not isinstance(obj, dict) or set(obj) != {"key", "result", "warnings"} or obj["key"] != key:
        raise BadEntry("entry of another key")
    texts = obj["warnings"]
    if not isinstance(texts, list) or len(texts) > MAX_WARNINGS or not all(
            isinstance(t, str) and len(t) <= 1000 for t in texts):
        raise BadEntry("bad warnings")
    try:
        return result_from_json(obj["result"]), tuple(texts)
    except BadEntry:
        raise
    except Exception as exc:  # malformed base64, bad reshape, ...: damaged all the same
        raise BadEntry(f"{type(exc).__name__}") from None


# ---- the directory --------------------------------------------------------------------------------------

def max_bytes_from_env() -> int:
    text = os.environ.get("CE_CONFORMANCE_CACHE_MAX_MB")
    try:
        return int(float(text) * (1 << 20)) if text else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


def _entries(directory: Path) -> list[tuple[float, int, str]]:
    out = []
    for dirpath, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.append((st.st_mtime, st.st_size, path))
    return out


class DiskStore:
    """Entries of one reference fingerprint under root; see the module docstring."""

    def __init__(self, root: Path, fingerprint: str, max_bytes: int | None = None,
                 keep_fingerprints: int = KEEP_FINGERPRINTS):
        self.root = Path(root)
        self.dir = self.root / fingerprint
        self.max_bytes = max_bytes_from_env() if max_bytes is None else max_bytes
        self.discarded = 0  # damaged entries found (and recomputed by the caller)
        self.pruned = 0  # files removed to keep the cache within its bounds
        self.not_written = 0  # entries not written because the cache is full
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            os.utime(self.dir)  # most recently used
        except OSError:
            pass
        self._prune_fingerprints(keep_fingerprints)
        self.bytes = self._prune_size()

    def _prune_fingerprints(self, keep: int) -> None:
        try:
            others = [p for p in self.root.iterdir() if p.name != self.dir.name and _FINGERPRINT.match(p.name)
                      and p.is_dir() and not p.is_symlink()]
        except OSError:
            return
        others.sort(key=lambda p: p.stat().st_mtime if p.exists() else 0, reverse=True)
        for old in others[max(0, keep - 1):]:
            shutil.rmtree(old, ignore_errors=True)
            self.pruned += 1

    def _prune_size(self) -> int:
        entries = _entries(self.dir)
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return total
        for _, size, path in sorted(entries):
            if total <= 0.8 * self.max_bytes:
                break
            try:
                os.unlink(path)
                total -= size
                self.pruned += 1
            except OSError:
                pass
        return total

    def path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def load(self, key: str):
        """(True, result) for a sound entry; (False, None) when there is none or it is damaged (counted)."""
        found, result, _ = self.load_entry(key)
        return found, result

    def load_entry(self, key: str):
        """(True, result, warning texts) for a sound entry; (False, None, ()) when there is none or it is
        damaged (counted)."""
        if not _KEY.match(key):
            return False, None, ()
        try:
            with open(self.path(key), "rb") as f:
                data = f.read(self.max_bytes + 1)
        except OSError:  # missing, unreadable: a miss
            return False, None, ()
        try:
            return (True, *decode_entry(key, data))
        except BadEntry:
            self.discarded += 1
            return False, None, ()

    def save(self, key: str, result, warnings=()) -> None:
        if not _KEY.match(key):
            return
        try:
            data = encode(key, result, warnings)
        except (TypeError, ValueError):  # not plain data (never expected): simply not cached
            return
        if self.bytes + len(data) > self.max_bytes:
            self.not_written += 1
            return
        path = self.path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            self.bytes += len(data)
        except OSError:  # a full or read-only disk costs speed, never the run
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
