"""The reference's self-tests import their helper modules (mp_ops: independent mpmath formulas; ref_helpers;
draw_helpers) by bare name: this folder goes on sys.path (the repository root is there already, by
pyproject's pythonpath)."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
