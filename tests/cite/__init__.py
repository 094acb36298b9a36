"""Tests of pipeline/cite/ (a package: test_attribution.py shares its basename with tests/evaluate/)."""
