"""One home for a step the known-divergence tests share."""
from conformance.judge import known
from conformance.judge.severity import FAILING


def classified(rec: dict, entries) -> tuple:
    """Classify `rec` against `entries` as a run does; (the entry id that explains it or None, unexpected)."""
    known.classify(rec, entries, FAILING)
    return rec["known_divergence"], rec["unexpected"]
