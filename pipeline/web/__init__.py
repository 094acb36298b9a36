"""The web review desk (``press serve``): FastAPI + Jinja2 over the review workflow.

Modules: :mod:`~pipeline.web.app` (``create_app``, the shared :class:`~pipeline.web.app.Desk`,
security headers, error pages), ``routes_auth`` / ``routes_articles`` / ``routes_drafts``
(the pages), :mod:`~pipeline.web.auth` (argon2 passwords), :mod:`~pipeline.web.sessions`
(signed cookies), :mod:`~pipeline.web.csrf`, :mod:`~pipeline.web.ratelimit`,
:mod:`~pipeline.web.jobs` (background drafting) and :mod:`~pipeline.web.evidence` (the
evidence panel's view of a revision).
"""
