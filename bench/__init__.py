"""Benchmarks: each prints the figures and ratios it measured in one run (no timed assertions in tests)."""
