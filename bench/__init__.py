"""Benchmarks (``make bench``, ``make tune``): never shipped, never part of ``make test``; see README."""
