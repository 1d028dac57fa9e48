"""Benchmarks of the conformance suite (python -m benchmarks): reference throughput, cache, ci-profile run."""
