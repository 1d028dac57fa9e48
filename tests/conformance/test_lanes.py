"""run --jobs N (conformance/execute/lanes.py): cells on N local lanes give the serial run's records in the
serial run's order (timings aside), keep crash isolation, sum the lanes' reference caches, and print progress
in plan order; the scheduler keeps a lane on its worker group and shares out what is left."""
from __future__ import annotations

import json
from collections import deque
from pathlib import Path

from conformance.adapters.custom import parse_spec
from conformance.execute.lanes import _pick, default_jobs, merge_stats, units
from conformance.execute.run import RunConfig, execute

TIMING_FIELDS = ("elapsed_s", "timing")
# two worker groups (lanes take whole groups): numpy's rows and a custom numpy-signature kernel
SELECTION = dict(frameworks=("numpy",), ops=("softmax",), dtypes=("float32", "float64"), devices=("cpu",),
                 profile="quick", implementations=("scipy.special.softmax", "scipy.special.log_softmax"))


def _doc(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def _records(out: Path) -> list:
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in _doc(out)["records"]]


def test_two_lanes_give_the_serial_records_in_order(tmp_path):
    serial_lines, lane_lines = [], []
    custom = [parse_spec("tests.slow_impls:half_softmax", "softmax", "numpy", ("float32", "float64"))]
    serial = execute(RunConfig(out_dir=tmp_path / "serial", cache_dir=None, jobs=1, custom=custom, **SELECTION),
                     log=serial_lines.append)
    lanes = execute(RunConfig(out_dir=tmp_path / "lanes", cache_dir=None, jobs=2, custom=custom, **SELECTION),
                    log=lane_lines.append)
    assert lanes == serial
    a, b = _records(tmp_path / "serial"), _records(tmp_path / "lanes")
    assert len(a) > 20 and a == b  # same records, same order
    run = _doc(tmp_path / "lanes")["run"]
    assert run["jobs"] == 2 and _doc(tmp_path / "serial")["run"]["jobs"] == 1
    assert run["reference_cache"]["misses"] > 0  # the lanes' caches, summed into the run's counters
    assert list(run["timing"]["cells"]) == list(_doc(tmp_path / "serial")["run"]["timing"]["cells"])
    assert any(line.startswith("  lanes: 2") for line in lane_lines)
    assert not any(line.startswith("  lanes:") for line in serial_lines)
    done = [line.split("]")[0] for line in lane_lines if line.startswith("[")]
    assert done == [f"[{k}/{len(done)}" for k in range(1, len(done) + 1)] and len(done) >= 4


def test_a_crash_in_a_lane_is_isolated_like_in_a_serial_run(tmp_path):
    specs = [parse_spec(f"tests.fault_impls:{name}", "softmax", "numpy", ("float32",))
             for name in ("segfault", "softmax")]
    code = execute(RunConfig(out_dir=tmp_path / "faults", frameworks=("numpy",), ops=("softmax",),
                             dtypes=("float32",), devices=("cpu",), profile="quick", examples=1, timeout=20.0,
                             custom=specs, jobs=2, implementations=("scipy.special.softmax",)),
                   log=lambda m: None)
    assert code == 1 and _doc(tmp_path / "faults")["run"]["jobs"] == 2
    verdicts: dict = {}
    for r in _doc(tmp_path / "faults")["records"]:
        verdicts.setdefault(r["implementation"], set()).add(r["verdict"])
    assert verdicts["custom:tests.fault_impls:segfault"] == {"crashed"}
    assert "accurate" in verdicts["custom:tests.fault_impls:softmax"]


def test_a_lane_reports_shrinking_to_the_driver(tmp_path):
    spec = parse_spec("tests.slow_impls:half_softmax", "softmax", "numpy", ("float32", "float64"))
    lines = []
    execute(RunConfig(out_dir=tmp_path / "shrink", frameworks=("numpy",), ops=("softmax",), dtypes=("float32",),
                      devices=("cpu",), profile="quick", custom=[spec], jobs=2, cache_dir=None,
                      implementations=("scipy.special.softmax", "custom:*")), log=lines.append)
    assert any("shrinking it (at most 20 steps" in line for line in lines), lines


class _Lane:
    def __init__(self, group=None, index=None):
        self.group, self.index = group, index


def test_the_scheduler_gives_each_lane_whole_groups_largest_first():
    queues = {0: deque([0, 1]), 1: deque([2, 3, 4]), 2: deque([5])}
    a, b = _Lane(), _Lane()
    started: set = set()
    assert _pick(a, queues, started) == (1, 2)  # the largest group first
    a.group = 1
    assert _pick(b, queues, started) == (0, 0)  # the largest group no lane has started
    b.group = 0
    assert _pick(b, queues, started) == (0, 1)  # a lane keeps to its group, in plan order
    assert _pick(b, queues, started) == (2, 5)  # its group is done: the next group nobody started
    b.group = 2
    assert _pick(b, queues, started) is None  # group 1 belongs to lane a: b ends
    assert _pick(a, queues, started) == (1, 3) and _pick(a, queues, started) == (1, 4)
    assert _pick(a, queues, started) is None


def test_the_costliest_group_goes_first():
    queues = {0: deque(range(10)), 1: deque(range(10, 14))}  # 10 cheap cells, 4 costly ones
    started: set = set()
    assert _pick(_Lane(), queues, started, {0: 0.35, 1: 3.0}) == (1, 10)
    assert _pick(_Lane(), queues, started, {0: 0.35, 1: 3.0}) == (0, 0)


def test_units_are_whole_groups_and_jax_halves_in_plan_order():
    from types import SimpleNamespace as NS

    groups = [NS(worker="jax"), NS(worker="torch"), NS(worker="custom:jax")]
    cells = [NS(group=g) for g in (0, 0, 0, 0, 0, 1, 1, 2, 2)]
    assert units(cells, groups) == [(0, [0, 1, 2]), (0, [3, 4]), (1, [5, 6]), (2, [7, 8])]
    assert units([NS(group=0)], groups) == [(0, [0])]  # a one-cell group is not split


def test_default_lanes_and_summed_cache_counters():
    assert default_jobs("quick", 100) == 1 and default_jobs("ci", 1) == 1
    assert default_jobs("ci", 100) in (1, 2)
    merged = merge_stats([{"hits": 1, "misses": 2, "seconds": 0.5, "dir": "d"},
                          {"hits": 3, "misses": 0, "seconds": 0.25, "dir": "d"}])
    assert merged == {"hits": 4, "misses": 2, "seconds": 0.75, "dir": "d"}
    assert merge_stats([]) == {}
