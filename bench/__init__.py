"""Benchmarks: `make bench` (python -m bench) runs every one and writes bench/results.json."""
