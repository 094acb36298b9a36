"""The house format of an article: render it (Markdown, HTML, JSON), parse it back, check it.

``render`` writes a checked :class:`~pipeline.models.Article`; ``parse`` reads the Markdown an
editor changed back into a draft; ``check`` scores a rendered article's structure for evaluation.
"""
