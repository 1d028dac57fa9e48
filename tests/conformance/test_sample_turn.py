"""The ci profile's rotation (conformance/plan/sample_turn.py): every implementation runs once in every
sampled backend and mode, the rows of a group taking the four dtypes in turn and then the rotated modes."""
from conformance.adapters.implementation import Implementation
from conformance.plan import variant_plan
from conformance.plan.choices import ALL_DTYPES
from conformance.plan.mode_plan import cell_modes
from conformance.plan.sample_turn import dtype_turn, mode_turn, turn


def _rows(n, framework="tensorflow", dtypes=ALL_DTYPES, policy=None):
    return [Implementation(id=f"r{k}", framework=framework, op="cross_entropy" if k == 0 else "softmax", call=None,
                           dtypes=tuple(dtypes), policy=policy) for k in range(n)]


def test_rows_take_the_dtypes_then_the_modes_in_turn():
    rows = _rows(10)
    assert [dtype_turn(r, rows) for r in rows[:5]] == list(ALL_DTYPES) + [ALL_DTYPES[0]]
    modes = [mode_turn(r, rows, ("graph", "xla")) for r in rows]
    assert modes == ["graph"] * 4 + ["xla"] * 4 + ["graph"] * 2
    # every (mode, dtype) pair is met by some row: a mode is not tied to a dtype
    assert {(m, dtype_turn(r, rows)) for r, m in zip(rows, modes)} == {(m, d) for m in ("graph", "xla")
                                                                       for d in ALL_DTYPES}
    assert mode_turn(rows[0], rows, ()) is None


def test_an_implementation_takes_only_dtypes_it_supports():
    rows = _rows(3, dtypes=("float32", "float16"))
    assert [dtype_turn(r, rows) for r in rows] == ["float32", "float16", "float32"]


def test_policy_rows_turn_among_their_own_policy():
    plain = _rows(2)
    policy = _rows(2, policy="floatx")
    group = plain + policy
    assert [turn(r, group) for r in group] == [0, 1, 0, 1]


def test_ci_runs_every_implementation_once_in_each_rotated_mode_of_its_framework():
    rows = _rows(8)
    for dtype in ALL_DTYPES:
        for r in rows:
            modes = cell_modes("tensorflow", r, rows, dtype, None, "ci")
            extra = [m for m in modes if m != "eager"]
            if dtype == dtype_turn(r, rows):
                assert mode_turn(r, rows, ("graph", "xla")) in extra
            elif r is not rows[0]:  # rows[0] is also CI_SAMPLE's primary cross_entropy row
                assert extra == []
    # the thorough profile runs every mode in every dtype, quick none
    assert cell_modes("tensorflow", rows[3], rows, "float64", None, "thorough") == ["eager", "graph", "xla"]
    assert cell_modes("tensorflow", rows[3], rows, "bfloat16", None, "quick") == ["eager"]


def test_ci_runs_every_keras_backend_row_once():
    rows = _rows(6, framework="keras_jax")
    for r in rows:
        dtypes = [d for d in ALL_DTYPES if variant_plan.runs(r, rows, d, "ci")]
        assert dtype_turn(r, rows) in dtypes
        assert cell_modes("keras_jax", r, rows, dtype_turn(r, rows), None, "ci") == ["jit", "eager"]
    assert not any(variant_plan.runs(r, rows, d, "quick") for r in rows for d in ALL_DTYPES)
