"""Benchmarks: each module prints figures measured against baselines of the same run."""
