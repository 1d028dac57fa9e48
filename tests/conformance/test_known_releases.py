"""The registry against real runs of several releases (the committed upgrade and timeline runs): every entry
whose behaviour depends on a release says so with `versions`, so strict mode passes on each release, and the
optax focal-loss label-gradient regression is placed where it was introduced: optax 0.2.6 (measured on jax 0.6.2
with optax 0.2.4, 0.2.5 and 0.2.6; 0.2.5 still computes log(1 - p_t) directly, 0.2.6 through logsumexp)."""
from pathlib import Path

import pytest

from conformance.judge import known
from conformance.report import load_results
from conformance.judge.severity import FAILING

ROOT = Path(__file__).resolve().parents[2]
UPGRADE = sorted((ROOT / "reports" / "upgrade").glob("*/results.json.gz"))
TIMELINE = sorted((ROOT / "reports" / "timeline").glob("*/*/results.json.gz"))
JAX_RELEASES = ["reports/upgrade/jax-old", "reports/timeline/jax/jax062-optax024",
                "reports/timeline/jax/jax062-optax025", "reports/timeline/jax/jax062-optax026",
                "reports/timeline/jax/jax072-optax026",
                "reports/upgrade/jax-new"]


@pytest.mark.parametrize("path", UPGRADE + TIMELINE, ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_strict_known_passes_on_every_committed_release(path):
    doc = load_results(path)
    entries = known.load()
    for r in doc["records"]:
        known.classify(r, entries, FAILING)
    status = known.status(entries, {r["implementation"] for r in doc["records"]}, strict=True,
                          frameworks_run={r["framework"] for r in doc["records"]})
    assert status["strict_failures"] == [], (doc["run"]["frameworks"], status)


def test_the_committed_runs_are_there():
    assert len(UPGRADE) >= 4 and len(TIMELINE) >= 4


def test_focal_label_gradient_regression_appears_at_optax_0_2_6():
    from conformance.report.timeline import timeline_rows

    runs = [load_results(ROOT / p / "results.json.gz") for p in JAX_RELEASES]
    releases = [doc["run"]["frameworks"]["jax"] for doc in runs]
    assert releases[1:4] == ["jax 0.6.2, optax 0.2.4", "jax 0.6.2, optax 0.2.5", "jax 0.6.2, optax 0.2.6"]
    rows = [r for r in timeline_rows(runs)
            if r["implementation"] == "optax.losses.sigmoid_focal_loss" and r["part"] == "grad:y"]
    introduced = [r for r in rows if r["first"] == 3]  # jax unchanged, optax 0.2.5 -> 0.2.6
    assert introduced and sum(r["cases"] for r in introduced) >= 4
    assert all(r["gone"] is None for r in introduced)  # still present in the newest release
    # and the registry entry for it is scoped to those releases
    entry = next(e for e in known.load() if e.id == "optax-focal-label-gradient-masked")
    assert entry.versions == {"optax": ">=0.2.6"}
