"""Benchmarks: they print figures and write bench/results/latest.json; they never fail on speed."""
