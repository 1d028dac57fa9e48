"""The library logs through `logging`: conformance.api.check's lines go to the "conformance" logger (the
caller configures it) and nothing is printed; the command line still prints them."""
from __future__ import annotations

import logging

from conformance.api import check
from conformance.execute.run import log_to_logging


def test_check_logs_through_the_conformance_logger_and_prints_nothing(tmp_path, caplog, capsys):
    caplog.set_level(logging.INFO, logger="conformance")
    code = check("tests.fault_impls:softmax", op="softmax", signature="numpy", out=tmp_path / "out",
                 dtypes=("float32",), examples=1, report=False)
    assert code == 0
    assert capsys.readouterr().out == ""
    messages = [r.getMessage() for r in caplog.records if r.name == "conformance.execute.run"]
    assert any(m.startswith("wrote ") and "results.json" in m for m in messages), messages
    assert any("[1/1]" in m for m in messages)  # the progress lines too


def test_warning_and_error_lines_get_their_levels(caplog):
    caplog.set_level(logging.DEBUG, logger="conformance")
    for line in ("warning: known divergence 'x' matched nothing", "error: x", "[1/2] cell: 3 records"):
        log_to_logging(line)
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.ERROR, logging.INFO]
    assert logging.getLogger("conformance").handlers  # a NullHandler: silent unless the application configures
