"""The reference, as the conformance run uses it: memoised by the exact input bits, op, dtype and params.

A case the reference rejects as malformed (reference.errors.CaseError that is not UndefinedError) is a
generator bug, not a verdict: `rejects` lets the runner skip it. UndefinedError (e.g. an out-of-range
label) is kept: the expected behaviour is an error.

On disk (cache_dir): one pickle per case key (conformance.cases.case.Case.key(): op, dtype, params and the
exact input bits) under cache_dir/<fingerprint>/, where the fingerprint hashes the reference's source files
and python-flint's version, so a changed reference never reads an old answer. Files are written to a
temporary name and renamed into place (atomic on POSIX): concurrent runs and pytest-xdist workers may share
a directory; a file that cannot be read is a miss. The directory is trusted like any pickle (your own).
Results are stored with their exact strings computed (reference.fastpath.plain), which the records need.

Time: `seconds` is everything spent answering (computing, reading the disk); `take_seconds()` hands the part
not yet attributed to a record to the record being built.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from pathlib import Path

import reference
from reference.errors import CaseError, UndefinedError

from conformance.cases.case import Case

CACHE_FORMAT = 1


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.environ.get("CE_CONFORMANCE_CACHE") or os.path.join(base, "ce-conformance"))


class ReferenceFailure(Exception):
    """The reference could not evaluate a case (a defect of the reference, reported as uncertified)."""


def op_defaults(op: str) -> dict:
    return dict(reference.OPS[op].defaults)


def reference_fingerprint() -> str:
    """A digest of the reference's source files and the arb library's version."""
    import flint

    root = Path(reference.__file__).parent
    h = hashlib.sha256(f"format {CACHE_FORMAT}; python-flint {flint.__version__}".encode())
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


class DiskStore:
    def __init__(self, root: Path):
        self.dir = Path(root) / reference_fingerprint()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.pkl"

    def load(self, key: str):
        try:
            with open(self._path(key), "rb") as f:
                return True, pickle.load(f)
        except FileNotFoundError:
            return False, None
        except Exception:  # torn or foreign file: recompute (and overwrite it)
            return False, None

    def save(self, key: str, result) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:  # a full or read-only disk costs speed, never the run
            try:
                os.unlink(tmp)
            except (OSError, UnboundLocalError):
                pass


class ReferenceCache:
    def __init__(self, cache_dir: Path | str | None = None):
        self._memo: dict[str, object] = {}
        self.hits = 0  # answered from memory
        self.disk_hits = 0  # answered from the disk cache
        self.misses = 0  # computed by the reference
        self.seconds = 0.0  # time spent answering (computing or reading the disk)
        self.compute_seconds = 0.0
        self._unclaimed = 0.0
        self.store = DiskStore(Path(cache_dir)) if cache_dir else None

    def get(self, op: str, dtype: str, inputs: dict, params: dict):
        """A RefResult, or the UndefinedError / CaseError the reference raised."""
        key = Case("", op, dtype, inputs, params).key()
        if key in self._memo:
            self.hits += 1
            return self._memo[key]
        started = time.perf_counter()
        found, result = self.store.load(key) if self.store is not None else (False, None)
        if found:
            self.disk_hits += 1
        else:
            self.misses += 1
            result = _compute(op, dtype, inputs, params)
            self.compute_seconds += time.perf_counter() - started
            if self.store is not None:
                self.store.save(key, result)
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        self._unclaimed += elapsed
        self._memo[key] = result
        return result

    def take_seconds(self) -> float:
        """Reference time spent since the last call (for the record being built)."""
        out, self._unclaimed = self._unclaimed, 0.0
        return out

    def stats(self) -> dict:
        return {"hits": self.hits, "disk_hits": self.disk_hits, "misses": self.misses,
                "seconds": round(self.seconds, 3), "compute_seconds": round(self.compute_seconds, 3),
                "dir": str(self.store.dir) if self.store is not None else None}

    def rejects(self, case: Case) -> bool:
        result = self.get(case.op, case.dtype, case.inputs, case.params)
        return isinstance(result, CaseError) and not isinstance(result, UndefinedError)


def _compute(op: str, dtype: str, inputs: dict, params: dict):
    from reference.fastpath import plain

    try:
        return plain(reference.evaluate(op, dtype, inputs, params))  # exact strings now: the records need them
    except UndefinedError as exc:
        return exc
    except CaseError as exc:
        return exc
    except Exception as exc:  # a defect of the reference itself: recorded, never fatal to the run
        return ReferenceFailure(f"{type(exc).__name__}: {exc}")
