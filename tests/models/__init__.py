"""Tests of pipeline/models/ (a package, so test_corpus.py may share its basename)."""
