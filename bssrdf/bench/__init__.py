"""Benchmarks (``python -m bssrdf.bench``); speed is measured here, never asserted in tests."""
