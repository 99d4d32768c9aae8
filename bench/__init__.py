"""Benchmarks that print ratios; not part of the test run. Run each from the repository root as a module,
e.g. `.venv/bin/python -m bench.startup`, so `housejobs`, `tests.fakes` and `bench._common` import without any
sys.path edits."""
