"""Shared test support code: a scripted OpenAI-compatible HTTP server and its pytest fixtures."""
