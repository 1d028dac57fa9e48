"""Values and gradients against independent mpmath formulas (tests/reference/mp_ops.py) and mpmath.diff, for
every case draw_helpers draws (each op family, with its params, in every dtype)."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mp_ops
import reference
import draw_helpers as dh
from ref_helpers import evaluate, in_dtype, mpf

PREC = 200


def _mp_inputs(inputs: dict, dtype: str) -> dict:
    out = {}
    for k, v in inputs.items():
        v = np.asarray(v)
        out[k] = v if v.dtype.kind in "iu" else np.vectorize(mp.mpf, otypes=[object])(in_dtype(v, dtype))
    return out


def check_against_mpmath(op, dtype, inputs, params, rel=mp.mpf("1e-28")):
    """The reference's exact value and gradients agree with mp_ops and with mpmath.diff of mp_ops."""
    r = evaluate(op, dtype, inputs, params)
    spec = reference.OPS[op]
    full = {**spec.defaults, **params}
    for key in ("clip", "weight", "pos_weight"):  # the reference rounds these into the dtype first
        if full.get(key) is not None:
            full[key] = in_dtype(full[key], dtype).tolist()
    with mp.workprec(PREC):
        vals = _mp_inputs(inputs, dtype)
        fn = mp_ops.OPS[op]
        want = np.asarray(fn(**vals, **full), dtype=object)
        for idx, w in np.ndenumerate(want):
            got = mpf(r.value.exact[idx])
            assert abs(got - w) <= rel * max(abs(w), mp.mpf(1e-30)), (op, "value", idx, got, w)
        for name in spec.differentiable:
            if name not in r.grads:
                continue
            for idx in np.ndindex(*vals[name].shape):
                def f(t, name=name, idx=idx):
                    vv = dict(vals)
                    arr = vv[name].copy()
                    arr[idx] = t
                    vv[name] = arr
                    return mp.fsum(np.asarray(fn(**vv, **full), dtype=object).ravel().tolist())
                d = mp.diff(f, vals[name][idx])
                got = mpf(r.grads[name].exact[idx])
                assert abs(got - d) <= rel * max(abs(d), mp.mpf(1)), (op, name, idx, got, d)
    return r


SETTINGS = settings(max_examples=10, deadline=None)


@pytest.mark.parametrize("case_id", list(dh.CASES))
@SETTINGS
@given(data=st.data())
def test_value_and_gradients(case_id, data):
    case = dh.draw_case(data, case_id)
    check_against_mpmath(case.op, dh.dtype(data), case.inputs, case.params)


def test_every_op_of_the_reference_has_a_draw():
    assert {case_id.split(":")[0] for case_id in dh.CASES} == set(reference.OPS)
