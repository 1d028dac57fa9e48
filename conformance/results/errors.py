"""The one error of the results stage: a results file (or stream) that cannot be used."""
from __future__ import annotations


class ResultsError(Exception):
    """A missing, malformed, truncated or incompatible results file. str(err) is one line meant for a human
    (whitespace collapsed); the commands print it and exit 2."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
