"""Judging: ULP error, conditioning-aware bound, special values, known divergences -> verdict."""
