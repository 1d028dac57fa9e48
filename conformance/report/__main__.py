"""python -m conformance.report report|compare|merge ... (the same commands as python -m conformance)."""
import sys

from .cli import main

sys.exit(main())
