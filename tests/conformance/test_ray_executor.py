"""run --executor ray on a local Ray cluster started here (CPU, 2 CPUs): the same records as the local
executor (apart from timings and order), and crash isolation and per-case timeouts kept.
Skipped where ray is not installed (it is the optional extra `ray`)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (optional extra: pip install 'ce-conformance[ray]')")

from conformance.adapters.custom import parse_spec  # noqa: E402
from conformance.execute.run import RunConfig, execute  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TIMING_FIELDS = ("elapsed_s", "timing")
SELECTION = dict(frameworks=("numpy",), ops=("softmax", "xlogy"), dtypes=("float32", "float64"), devices=("cpu",),
                 profile="quick")


@pytest.fixture(scope="module")
def local_cluster():
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    except Exception as exc:  # e.g. no /dev/shm, no free ports
        pytest.skip(f"a local Ray cluster cannot start here: {type(exc).__name__}: {exc}")
    yield ray
    ray.shutdown()


def _records(out: Path) -> list:
    doc = json.loads((out / "results.json").read_text())
    return sorted(json.dumps({k: v for k, v in r.items() if k not in TIMING_FIELDS}, sort_keys=True)
                  for r in doc["records"])


def test_ray_run_gives_the_local_records(tmp_path, local_cluster):
    cache = tmp_path / "cache"
    local = execute(RunConfig(out_dir=tmp_path / "local", cache_dir=cache, **SELECTION), log=lambda m: None)
    lines = []
    on_ray = execute(RunConfig(out_dir=tmp_path / "ray", cache_dir=cache, executor="ray", **SELECTION),
                     log=lines.append)
    assert on_ray == local
    assert _records(tmp_path / "ray") == _records(tmp_path / "local")
    timing = json.loads((tmp_path / "ray" / "results.json").read_text())["run"]["timing"]["cells"]
    assert len(timing) == 4 and all(t.get("node") for t in timing.values())  # every cell ran on a Ray actor
    assert any("[4/4]" in line for line in lines)


def test_crashes_and_hangs_are_isolated_on_ray(tmp_path, local_cluster):
    specs = [parse_spec(f"tests.fault_impls:{name}", "softmax", "numpy", ("float32",))
             for name in ("segfault", "hang", "softmax")]
    code = execute(RunConfig(out_dir=tmp_path / "faults", frameworks=(), ops=("softmax",), dtypes=("float32",),
                             devices=("cpu",), profile="quick", examples=1, timeout=2.0, custom=specs,
                             executor="ray"), log=lambda m: None)
    assert code == 1
    verdicts: dict = {}
    for r in json.loads((tmp_path / "faults" / "results.json").read_text())["records"]:
        verdicts.setdefault(r["implementation"], set()).add(r["verdict"])
    assert verdicts["custom:tests.fault_impls:segfault"] == {"crashed"}
    assert verdicts["custom:tests.fault_impls:hang"] == {"timeout"}
    assert "accurate" in verdicts["custom:tests.fault_impls:softmax"]


def test_ray_actors_stop_shrinking_at_a_catalog_twin_like_a_local_run(tmp_path, local_cluster):
    pytest.importorskip("torch")
    # the cell and seed of tests/conformance/test_shrink_known.py: Hypothesis draws a failure that the known
    # divergence of a failing catalog case explains; the actor must keep it unshrunk, as the local run does
    selection = dict(frameworks=("torch",), implementations=("torch.log_softmax",), dtypes=("float32",),
                     devices=("cpu",), profile="ci", seed=1)
    local = execute(RunConfig(out_dir=tmp_path / "local", cache_dir=None, **selection), log=lambda m: None)
    on_ray = execute(RunConfig(out_dir=tmp_path / "ray", cache_dir=None, executor="ray", **selection),
                     log=lambda m: None)
    assert on_ray == local
    assert _records(tmp_path / "ray") == _records(tmp_path / "local")
    timing = json.loads((tmp_path / "ray" / "results.json").read_text())["run"]["timing"]["cells"]
    cell = timing["torch.log_softmax|float32|cpu"]
    assert cell.get("node") and cell["shrinks_skipped"] >= 1
