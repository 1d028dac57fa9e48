"""ce-conformance: conformance of cross-entropy implementations against a certified reference."""
__version__ = "0.1.0"

import logging as _logging

# The library logs through the "conformance" logger (run progress at INFO, problems at WARNING/ERROR); the
# application configures it (logging.basicConfig(level=logging.INFO) shows a run's progress lines).
_logging.getLogger("conformance").addHandler(_logging.NullHandler())
