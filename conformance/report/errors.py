"""The errors the report commands raise: bad input (exit 2), and output that cannot be written (exit 3)."""
from __future__ import annotations


class ReportInputError(Exception):
    """Bad input to report/compare/merge: a missing, malformed, truncated or incompatible results file, or an
    output path that cannot be written. str(err) is one line meant for a human; the CLI prints it and exits 2.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class ReportOutputError(ReportInputError):
    """An output file could not be written (disk full, permissions, I/O error): the CLI exits 3. Nothing
    half-written is left: files are written to a temporary name and renamed into place."""
