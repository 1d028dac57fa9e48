"""The output directory of a run: one run at a time (a lock), and writes that fail without losing anything.

Lock: DIR/.ce-conformance.lock, held with fcntl.flock for the whole run (the report included). A second run
into the same directory fails at once with OutputLocked (one line, exit 2) before it touches any file. The
lock is advisory and belongs to the open file: it goes away with the process, however it ends (kill -9
included), so a stale lock file never blocks a later run. Re-entrant within one process.

Writes: every write of a results file goes through `append` or `replace`. Any OSError (disk full, quota,
read-only, I/O error) becomes ResultsIOError (one line, exit 3): `append` cuts the file back to its last whole
line, `replace` writes a temporary file beside the target, renames it into place and removes it on failure,
so no *.tmp file is left and the old file stays whole.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock
    fcntl = None

LOCK_NAME = ".ce-conformance.lock"
EXIT_IO_ERROR = 3
_held: dict[str, list] = {}  # resolved directory -> [fd, depth]


class OutputLocked(Exception):
    """Another run is writing into this directory."""


class ResultsIOError(Exception):
    """Results could not be written (the message names the file and the reason)."""


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


@contextlib.contextmanager
def out_dir_lock(out_dir: Path):
    """Hold DIR's lock for the block; OutputLocked when another process holds it."""
    key = str(Path(out_dir).resolve())
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    path = Path(out_dir) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ResultsIOError(f"cannot create the lock file {path}: {_reason(exc)}") from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                raise OutputLocked(f"another run{holder} is writing into {out_dir}; wait for it or choose "
                                   f"another --out") from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the lock holds without the pid note
        _held[key] = [fd, 1]
        try:
            yield
        finally:
            del _held[key]
    finally:
        os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
        return f" (pid {int(pid)})" if pid else ""
    except (OSError, ValueError):
        return ""


def append(path: Path, text: str) -> None:
    """Append whole lines and fsync; on failure cut the file back to where it was."""
    data = text.encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ResultsIOError(f"cannot write {path}: {_reason(exc)}") from None
    try:
        start = os.fstat(fd).st_size
        try:
            _write_all(fd, data)
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass  # a torn last line remains; readers drop it
            raise ResultsIOError(f"cannot write {path}: {_reason(exc)}") from None
    finally:
        os.close(fd)


def replace(path: Path, text: str) -> None:
    """Write path atomically (a temporary file renamed into place); nothing is left behind on failure."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ResultsIOError(f"cannot write {path}: {_reason(exc)}") from None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
