"""The reference, as the conformance run uses it: memoised by the exact input bits, op, dtype and params.

A case the reference rejects as malformed (reference.errors.CaseError that is not UndefinedError) is a
generator bug, not a verdict: `rejects` lets the runner skip it. UndefinedError (e.g. an out-of-range
label) is kept: the expected behaviour is an error.

On disk (cache_dir; conformance/execute/reference_store.py): one plain-data entry per case key (Case.key(): op, dtype,
params and the exact input bits) under cache_dir/<fingerprint>/, where the fingerprint hashes the
reference's source files and python-flint's version, so a changed reference never reads an old answer.
Every entry carries its key and a SHA-256 checksum, verified on every read: a damaged entry is discarded,
recomputed, overwritten and counted (stats()["discarded"]; `warn` is called once). Entries are plain JSON:
nothing read back is deserialised into objects, imported or evaluated.
Files are written to a temporary name and renamed into place (atomic on POSIX): concurrent runs and
pytest-xdist workers may share a directory. The size is bounded (refstore: old fingerprints pruned, a cap
per fingerprint). Results are stored with their exact strings computed (reference.fastpath.plain).
Exact digits on demand (docs/results.md): a fast-path answer of at least DEFER_EXACT_MIN elements that
reference.approx covers keeps its exact strings and cond unmade (they come from one arb evaluation, about
100x its certification): it gets the approximations instead (`approx` on each array), is neither made
plain nor written to disk (recomputing it costs less than reading it back), and the arb evaluation runs
only if the judge or the record reads an exact value (a part beyond the ULP budget, failing elements,
exact zeros).

Warnings: what the reference raises while computing an answer (e.g. numpy's overflow when an exact value
rounds to inf) is kept with the answer, in memory and on disk, and handed out with every answer, fresh or
cached (take_warnings): a record's suite_warnings then depend on its case, never on what the cache held.

Time: `seconds` is everything spent answering (computing, reading the disk); `take_seconds()` hands the part
not yet attributed to a record to the record being built.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
import warnings
from pathlib import Path

import reference
from reference.errors import CaseError, UndefinedError

from conformance.cases.case import Case
from conformance.execute.reference_store import DiskStore, ReferenceFailure

CACHE_FORMAT = 3  # 3: entries carry the reference's warnings
DEFER_EXACT_MIN = int(os.environ.get("CE_DEFER_EXACT_MIN") or 4096)  # output elements (module docstring)
__all__ = ["ReferenceCache", "ReferenceFailure", "default_cache_dir", "op_defaults", "reference_fingerprint",
           "warning_text"]


def warning_text(w) -> str:
    """A caught warning as the records keep it: 'Category: message (file.py:line)'."""
    return f"{w.category.__name__}: {w.message} ({w.filename.rsplit('/', 1)[-1]}:{w.lineno})"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.environ.get("CE_CONFORMANCE_CACHE") or os.path.join(base, "ce-conformance"))


def op_defaults(op: str) -> dict:
    return dict(reference.OPS[op].defaults)


def reference_fingerprint() -> str:
    """A digest of the reference's source files and the arb library's version."""
    import flint

    root = Path(reference.__file__).parent
    h = hashlib.sha256(f"format {CACHE_FORMAT}; python-flint {flint.__version__}; {sys.byteorder}".encode())
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


class ReferenceCache:
    def __init__(self, cache_dir: Path | str | None = None, warn=None, max_bytes: int | None = None):
        self._memo: dict[str, tuple] = {}  # key -> (answer, the warnings computing it raised)
        self._warned: list[str] = []  # warnings of the answers handed out since take_warnings()
        self.hits = 0  # answered from memory
        self.disk_hits = 0  # answered from the disk cache
        self.misses = 0  # computed by the reference
        self.seconds = 0.0  # time spent answering (computing or reading the disk)
        self.compute_seconds = 0.0
        self.exact_seconds = 0.0  # of compute_seconds: the exact strings and cond (one arb evaluation)
        self._unclaimed = 0.0
        self.store = DiskStore(Path(cache_dir), reference_fingerprint(), max_bytes) if cache_dir else None
        self._warn = warn  # called once, at the first damaged entry

    def get(self, op: str, dtype: str, inputs: dict, params: dict, modes: dict | None = None):
        """A RefResult, or the UndefinedError / CaseError the reference raised (with `modes`, a mode case's
        request, also its derivative parts)."""
        key = Case("", op, dtype, inputs, params, modes=modes).key()
        if key in self._memo:
            self.hits += 1
            result, texts = self._memo[key]
            self._warned += texts
            return result
        started = time.perf_counter()
        found, result, texts = self.store.load_entry(key) if self.store is not None else (False, None, ())
        if self.store is not None and self.store.discarded == 1 and not found and self._warn is not None:
            self._warn(f"warning: damaged reference cache entry {self.store.path(key)} discarded and recomputed "
                       f"(every one is counted in the run's reference_cache.discarded)")
            self._warn = None
        if found:
            self.disk_hits += 1
        else:
            self.misses += 1
            before = EXACT_CLOCK[0]
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = _compute(op, dtype, inputs, params, modes)
            texts = tuple(dict.fromkeys(map(warning_text, caught)))
            self.exact_seconds += EXACT_CLOCK[0] - before
            self.compute_seconds += time.perf_counter() - started
            if self.store is not None and not deferred(result):
                self.store.save(key, result, texts)
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        self._unclaimed += elapsed
        self._memo[key] = (result, tuple(texts))
        self._warned += texts
        return result

    def take_warnings(self) -> list[str]:
        """The warnings of the answers handed out since the last call (each answer's, however it was found)."""
        out, self._warned = self._warned, []
        return out

    def get_modes(self, op: str, dtype: str, inputs: dict, params: dict, request: dict):
        """A RefResult with the derivative parts of a mode case's request (reference.derivs), or the exception
        the reference raised; cached like plain answers (the request is part of the key)."""
        return self.get(op, dtype, inputs, params, request)

    def take_seconds(self) -> float:
        """Reference time spent since the last call (for the record being built)."""
        out, self._unclaimed = self._unclaimed, 0.0
        return out

    def stats(self) -> dict:
        return {"hits": self.hits, "disk_hits": self.disk_hits, "misses": self.misses,
                "seconds": round(self.seconds, 3), "compute_seconds": round(self.compute_seconds, 3),
                "exact_seconds": round(self.exact_seconds, 3),
                "dir": str(self.store.dir) if self.store is not None else None,
                "discarded": self.store.discarded if self.store is not None else 0,
                "pruned": self.store.pruned if self.store is not None else 0,
                "not_written": self.store.not_written if self.store is not None else 0}

    def rejects(self, case: Case) -> bool:
        result = self.get(case.op, case.dtype, case.inputs, case.params)
        return isinstance(result, CaseError) and not isinstance(result, UndefinedError)


EXACT_CLOCK = [0.0]  # seconds spent making exact strings and cond (plain()), in this process


def _compute(op: str, dtype: str, inputs: dict, params: dict, request: dict | None = None):
    from reference.fastpath import plain

    modes = {} if not request else {"cotangent": request.get("cotangent"), "tangents": request.get("tangents") or None,
                                    "hvp": bool(request.get("hvp")),
                                    "param_grads": list(request.get("param_grads") or ()) or None}
    try:
        result = reference.evaluate(op, dtype, inputs, params, **modes)
        if not request and defer_exact(result, op, dtype, inputs, params):
            return result
        started = time.perf_counter()
        try:
            return plain(result)  # exact strings and cond now: the judge and the records need them
        finally:
            EXACT_CLOCK[0] += time.perf_counter() - started
    except UndefinedError as exc:
        return exc
    except CaseError as exc:
        return exc
    except Exception as exc:  # a defect of the reference itself: recorded, never fatal to the run
        return ReferenceFailure(f"{type(exc).__name__}: {exc}")


def defer_exact(result, op: str, dtype: str, inputs: dict, params: dict, min_elements: int | None = None) -> bool:
    """Attach reference.approx's approximations to a large fast-path answer whose exact strings are not made
    yet (module docstring); False (nothing attached) where that does not apply."""
    from reference.approx import approximate
    from reference.fastpath import LazyRefArray

    arrays = {"value": result.value, **{f"grad:{k}": g for k, g in result.grads.items()}}
    if result.derivs or not all(isinstance(a, LazyRefArray) and not a.materialised for a in arrays.values()):
        return False
    limit = DEFER_EXACT_MIN if min_elements is None else min_elements
    if sum(int(a.rounded.size) for a in arrays.values()) < limit:
        return False
    approx = approximate(op, dtype, inputs, params)
    if approx is None or set(approx) != set(arrays):
        return False
    for key, a in arrays.items():
        a.approx = approx[key]
    return True


def deferred(result) -> bool:
    """True for an answer defer_exact() prepared (its exact strings may still be unmade: never stored)."""
    return getattr(getattr(result, "value", None), "approx", None) is not None
