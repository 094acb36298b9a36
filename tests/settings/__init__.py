"""Tests of pipeline/settings/ (a package, so test_report.py may share its basename)."""
