"""Tests of pipeline/web/routes/ (one file per route module)."""
