"""The errors the report commands raise: bad input (exit 2), and output that cannot be written (exit 3)."""
from __future__ import annotations

from conformance.results.errors import ResultsError

# Bad input to report/compare/merge (a missing, malformed, truncated or incompatible results file, or an output
# path that cannot be written) is the results stage's error: one class, so every reader fails the same way.
ReportInputError = ResultsError


class ReportOutputError(ReportInputError):
    """An output file could not be written (disk full, permissions, I/O error): the CLI exits 3. Nothing
    half-written is left: files are written to a temporary name and renamed into place."""
