"""Results: results.jsonl / results.json (JSON Schema), the output directory, JUnit and pytest streams.

The one home of the results format: `stream` writes (and reads back for --resume) a run's results.jsonl and
results.json, `load` reads and validates any results file for every later command (report, compare, merge,
replay, timeline), `strict_json` is the one JSON encoding, `output_dir` the lock and the atomic writes.
SCHEMA_VERSION is read from the schema file itself, so the version lives in one place.
"""
from __future__ import annotations

import json
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "results.schema.json"
SCHEMA_VERSION = json.loads(SCHEMA_PATH.read_text())["properties"]["schema_version"]["const"]
