"""The one error the report commands raise for bad input."""
from __future__ import annotations


class ReportInputError(Exception):
    """Bad input to report/compare/merge: a missing, malformed, truncated or incompatible results file, or an
    output path that cannot be written. str(err) is one line meant for a human; the CLI prints it and exits 2.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
