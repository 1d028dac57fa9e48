"""ULP distances and named values, checked exhaustively on the 16-bit types."""
import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.floats import named_value, nextafter, np_dtype, ordinals, spacing_of, ulp_distance

DTYPES = ["float64", "float32", "float16", "bfloat16"]


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_ordinals_count_every_16_bit_float_exactly_once(dtype):
    bits = np.arange(-(2**15), 2**15, dtype=np.int64).astype(np.int16)
    values = bits.view(np_dtype(dtype))
    finite = np.isfinite(values.astype(np.float64))
    ords = ordinals(values[finite])
    order = np.argsort(values[finite].astype(np.float64), kind="stable")
    sorted_ords = ords[order]
    # consecutive distinct floats differ by one ordinal; +0 and -0 share 0
    assert set(np.diff(sorted_ords)) <= {0, 1}
    assert sorted_ords[-1] - sorted_ords[0] == finite.sum() - 2  # one collision: -0 == +0


@pytest.mark.parametrize("dtype", DTYPES)
def test_nextafter_is_one_ulp(dtype):
    dt = np_dtype(dtype)
    x = np.array([1.0, -2.5, 0.0, 1e-3], dtype=dt)
    up = nextafter(x, np.full_like(x, np.inf), dtype)
    assert np.all(up.astype(np.float64) > x.astype(np.float64))
    assert np.all(ulp_distance(up, x, dtype) == 1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_named_values_are_representable_and_ordered(dtype):
    dt = np_dtype(dtype)
    for name in ["max", "tiny", "denorm_min", "1-ulp", "big", "big+ulp", "log_max"]:
        v = named_value(name, dtype)
        assert float(np.asarray(v, dtype=dt)) == v, name
    assert named_value("denorm_min", dtype) < named_value("tiny", dtype) < 1 < named_value("max", dtype)
    assert named_value("-max", dtype) == -named_value("max", dtype)
    assert ulp_distance(np.asarray([named_value("1-ulp", dtype)], dt), np.asarray([1.0], dt), dtype)[0] == 1


@given(st.floats(-1e30, 1e30, allow_nan=False, allow_subnormal=True).map(lambda v: float(np.float32(v))), st.integers(0, 6))
def test_ulp_distance_counts_steps_float32(x, k):
    a = np.asarray([x], dtype=np.float32)
    b = a.copy()
    for _ in range(k):
        b = np.nextafter(b, np.float32(np.inf))
    assert ulp_distance(b, a, "float32")[0] == k


def test_wider_observation_gives_fractional_ulps():
    expected = np.asarray([1.0], dtype=np.float16)
    observed = np.asarray([1.0 + 2**-11], dtype=np.float32)  # half an ulp of float16 at 1
    assert ulp_distance(observed, expected, "float16")[0] == pytest.approx(0.5)


def test_spacing_of_bfloat16_at_one():
    assert spacing_of(np.asarray([1.0], dtype=ml_dtypes.bfloat16), "bfloat16")[0] == 2**-7
