"""Float facts the comparison needs: numpy dtypes, ULP distances, unit roundoff, named special values."""
from __future__ import annotations

import ml_dtypes
import numpy as np

NUMPY_DTYPES = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}
_INT_VIEW = {8: np.int64, 4: np.int32, 2: np.int16}


def np_dtype(name: str) -> np.dtype:
    return NUMPY_DTYPES[name]


def dtype_name(dt) -> str:
    dt = np.dtype(dt)
    for name, known in NUMPY_DTYPES.items():
        if dt == known:
            return name
    return str(dt)


def finfo(name: str):
    return ml_dtypes.finfo(np_dtype(name))


def unit_roundoff(name: str) -> float:
    """u = 2**-p, p the precision in bits including the implicit bit (float32: 2**-24)."""
    return float(finfo(name).eps) / 2


def ordinals(a: np.ndarray) -> np.ndarray:
    """Map floats to integers so that consecutive floats differ by 1 (+0 and -0 both map to 0)."""
    a = np.ascontiguousarray(a)
    bits = a.view(_INT_VIEW[a.dtype.itemsize]).astype(np.int64)
    magnitude = bits & np.int64((1 << (8 * a.dtype.itemsize - 1)) - 1)
    return np.where(bits < 0, -magnitude, magnitude)


def ulp_distance(observed: np.ndarray, expected: np.ndarray, dtype: str) -> np.ndarray:
    """Number of representable `dtype` floats between observed and expected (finite elements).

    `expected` is in `dtype`. When `observed` is exactly representable in `dtype` this is the integer
    count of steps; otherwise (a framework that returned a wider dtype) it is the fractional distance
    |observed - expected| / spacing(expected) in float64.
    """
    dt = np_dtype(dtype)
    expected = np.asarray(expected, dtype=dt)
    obs64 = np.asarray(observed).astype(np.float64)
    obs_in_dtype = obs64.astype(dt)
    representable = obs_in_dtype.astype(np.float64) == obs64
    steps = np.abs(ordinals(obs_in_dtype) - ordinals(expected)).astype(np.float64)
    exp64 = expected.astype(np.float64)
    spacing = np.abs(spacing_of(expected, dtype))
    with np.errstate(invalid="ignore", divide="ignore"):
        fractional = np.abs(obs64 - exp64) / spacing
    return np.where(representable, steps, fractional)


def spacing_of(x: np.ndarray, dtype: str) -> np.ndarray:
    """Distance from |x| to the next larger float of `dtype`, as float64."""
    dt = np_dtype(dtype)
    x = np.abs(np.asarray(x, dtype=dt))
    inf = np.array(np.inf, dtype=dt)
    nxt = nextafter(x, inf, dtype)
    return nxt.astype(np.float64) - x.astype(np.float64)


def nextafter(x: np.ndarray, toward: np.ndarray, dtype: str) -> np.ndarray:
    """numpy.nextafter for every dtype, bfloat16 included (via the ordinal mapping)."""
    dt = np_dtype(dtype)
    if dt in (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16)):
        return np.nextafter(x, toward.astype(dt))
    x = np.asarray(x, dtype=dt)
    bits = x.view(np.int16).astype(np.int32)
    step = np.where(x.astype(np.float32) < np.asarray(toward, dtype=np.float32), 1, -1)
    step = np.where(bits < 0, -step, step)
    zero = x.astype(np.float32) == 0
    out = (bits + step).astype(np.int16).view(dt)
    tiny = np.array(1, dtype=np.int16).view(dt)
    return np.where(zero, np.where(step > 0, tiny, -tiny), out)


def named_value(name: str, dtype: str) -> float:
    """Values whose meaning depends on the dtype, for the catalog: max, tiny, denorm_min, 1-ulp, big, ..."""
    fi = finfo(dtype)
    dt = np_dtype(dtype)
    one = np.array(1, dtype=dt)
    table = {
        "max": float(fi.max),
        "tiny": float(fi.tiny),  # smallest normal
        "denorm_min": float(fi.smallest_subnormal),
        "1-ulp": float(nextafter(one, np.array(0, dtype=dt), dtype)),
        "1+ulp": float(nextafter(one, np.array(2, dtype=dt), dtype)),
        "big": float(np.array(float(fi.max) / 4, dtype=dt)),
    }
    table["big+ulp"] = float(nextafter(np.array(table["big"], dtype=dt), np.array(np.inf, dtype=dt), dtype))
    table["log_max"] = float(np.array(np.log(float(fi.max)), dtype=dt))
    sign = 1.0
    key = name
    if name.startswith("-") and name[1:] in table:
        sign, key = -1.0, name[1:]
    if key not in table:
        raise KeyError(f"unknown named value {name!r}")
    return sign * table[key]


def round_to_dtype(values, dtype: str) -> np.ndarray:
    """Array-valued params (weight, pos_weight) correctly rounded once (nearest, ties to even) into `dtype`,
    by the reference's integer rounding (ml_dtypes' float64 -> bfloat16 cast would round twice)."""
    from reference.dtypes import get_dtype, round_array

    return round_array(np.asarray(values, dtype=np.float64), get_dtype(dtype))
