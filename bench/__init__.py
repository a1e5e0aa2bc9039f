"""Benchmarks: each ``bench/<name>_bench.py`` module has a ``main()``; ``python -m bench [name ...]`` runs them."""
