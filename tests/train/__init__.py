"""Tests of pipeline/train/ (a package, so test_manifest.py may share its basename)."""
