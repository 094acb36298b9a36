"""Evidence Press: evidence-cited clinical answer articles.

Stages (one module each): ``ingest`` → ``index`` → ``retrieve`` → ``draft`` → ``cite`` →
``render``; see ``../shared/DESIGN.md`` §1 and the README.
"""

__version__ = "0.1.0"
