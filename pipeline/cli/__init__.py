"""The ``press`` command line (typer): one module per command family.

``app`` builds the root command and registers the others; ``common`` holds what they share
(consoles, error handling, progress bars, tables) and ``acting`` who acts (``--as USER``).
Commands parse options, call the library and print; the work itself lives in the stage
packages, so the desk and :mod:`pipeline.api` reach the same code.
"""
