"""The run's main process keeps its freed heap: large NumPy temporaries without a page fault per use.

glibc's malloc serves a block above its mmap threshold (128 KiB at start, raised dynamically to the largest
block freed) with a fresh mmap, and gives the free top of the heap back to the system once it exceeds the
trim threshold (twice the mmap threshold). A large case's many temporary arrays (C = 32768 classes: 256 KiB
per float64 array; a dozen each in the reference, the judge and the record) then fault in every 4 KiB page
again each time they are made. Measured (benchmarks/floor_bench.py, one float32 case of C = 32768, the
reference's approximations alone): 1.3 ms with glibc's defaults, 0.3 ms with the settings below; the
certification alone 1.2 ms -> 0.7 ms in the same loop.

keep_heap() sets M_MMAP_THRESHOLD to 32 MiB (glibc's largest: smaller blocks come from the heap) and
M_TRIM_THRESHOLD to 64 MiB (up to that much free memory at the heap's top is kept for reuse). The price:
the main process keeps up to 64 MiB of freed memory, and blocks between 128 KiB and 32 MiB are never handed
back one by one. conformance.execute.run calls it once per run; CE_KEEP_HEAP=0 leaves glibc's defaults. A
no-op (False) off glibc.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 64 * 1024 * 1024
_done: list[bool] = []


def keep_heap() -> bool:
    """Apply the settings above (once per process); True where they are in effect."""
    if _done:
        return _done[0]
    ok = False
    if os.environ.get("CE_KEEP_HEAP", "1") != "0":
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            mallopt = libc.mallopt
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to set
            mallopt = None
        if mallopt is not None:
            mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
            ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    _done.append(ok)
    return ok
