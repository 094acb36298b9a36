"""Tests of pipeline/cite/ (a package, so test_attribution.py may share its basename)."""
