"""ce-conformance: conformance of cross-entropy implementations against a certified reference."""
__version__ = "0.1.0"
