"""The article in the house format: described once, rendered, parsed back, checked, sanitised.

``spec`` is the one description of the house format (blocks, headings, labels, markers);
``render`` writes a checked :class:`~pipeline.models.article.Article` as Markdown, HTML or
JSON from it;
``parse`` reads the Markdown an editor changed back into a draft; ``check`` scores a rendered
article's structure for evaluation; ``sanitize`` is the one HTML sanitiser every page goes
through.
"""
