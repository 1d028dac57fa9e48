"""The ci profile's rotation (conformance/plan/sample_turn.py): every implementation runs once in every
sampled backend and mode, the rows of a group taking the four dtypes in turn."""
from conformance.adapters.implementation import Implementation
from conformance.plan import variant_plan
from conformance.plan.choices import ALL_DTYPES
from conformance.plan.mode_plan import cell_modes
from conformance.plan.sample_turn import dtype_turn, turn


def _rows(n, framework="tensorflow", dtypes=ALL_DTYPES, policy=None):
    return [Implementation(id=f"r{k}", framework=framework, op="cross_entropy" if k == 0 else "softmax", call=None,
                           dtypes=tuple(dtypes), policy=policy) for k in range(n)]


def test_rows_take_the_dtypes_in_turn():
    rows = _rows(10)
    assert [dtype_turn(r, rows) for r in rows[:5]] == list(ALL_DTYPES) + [ALL_DTYPES[0]]


def test_an_implementation_takes_only_dtypes_it_supports():
    rows = _rows(3, dtypes=("float32", "float16"))
    assert [dtype_turn(r, rows) for r in rows] == ["float32", "float16", "float32"]


def test_policy_rows_turn_among_their_own_policy():
    plain = _rows(2)
    policy = _rows(2, policy="floatx")
    group = plain + policy
    assert [turn(r, group) for r in group] == [0, 1, 0, 1]


def test_ci_runs_every_implementation_once_in_every_mode_of_its_framework_but_compile():
    rows = _rows(8)
    for dtype in ALL_DTYPES:
        for r in rows:
            modes = cell_modes("tensorflow", r, rows, dtype, None, "ci")
            extra = [m for m in modes if m != "eager"]
            if dtype == dtype_turn(r, rows):
                assert extra == ["graph", "xla"]
            elif r is not rows[0]:  # rows[0] is also CI_SAMPLE's primary cross_entropy row
                assert extra == []
    torch_rows = _rows(3, framework="torch")
    assert all(cell_modes("torch", r, torch_rows, dtype_turn(r, torch_rows), None, "ci") == ["eager"]
               for r in torch_rows[1:])  # torch.compile: the fixed sample only (CI_SAMPLE)
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


def test_ci_runs_policy_rows_in_the_default_mode_only():
    rows = _rows(4, policy="floatx")
    assert all(cell_modes("tensorflow", r, rows, dtype_turn(r, rows), None, "ci") == ["eager"] for r in rows)
    assert cell_modes("tensorflow", rows[1], rows, "float64", None, "thorough") == ["eager", "graph", "xla"]
