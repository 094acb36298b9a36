"""Flattening XML elements (PubMed, JATS) into clean running text.

The one subtle rule is where inline markup separates words. PubMed XML has the
whitespace around inline tags stripped (``at the<i>TERT</i>gene``), so there emphasis
elements must act as word boundaries; JATS keeps real spacing and glues on purpose
(``M<italic>m</italic>PPOX``), so there only block-level elements do. Callers choose
with the ``spaced`` argument of :func:`element_text`.
"""

from __future__ import annotations

from lxml import etree

from pipeline.ingest.loaders._common import clean

# Block-ish elements always separate words; INLINE_WORD_ELEMENTS adds emphasis for
# PubMed. Sub/superscripts always glue (``H<sub>2</sub>O`` stays ``H2O``) and markup
# nested inside them is ignored.
# fmt: off
BLOCK_ELEMENTS = frozenset({
    "p", "list", "list-item", "title", "break", "td", "th", "tr", "def", "term", "disp-quote",
    "label", "caption", "AbstractText",
})
# fmt: on
INLINE_WORD_ELEMENTS = BLOCK_ELEMENTS | frozenset(
    ["i", "b", "u", "em", "strong", "italic", "bold", "underline", "sc", "monospace"]
)
_GLUE_ELEMENTS = frozenset({"sub", "sup", "inf"})
_BOUNDARY = object()
_GLUE = object()


def element_text(
    el: etree._Element | None,
    skip: frozenset[str] = frozenset(),
    *,
    spaced: frozenset[str] = BLOCK_ELEMENTS,
) -> str:
    """Text of an XML element with inline markup flattened and whitespace collapsed.

    Child elements whose local name is in ``skip`` are left out (their tails are kept);
    a space is put between words that touch across an element named in ``spaced``.
    """
    if el is None:
        return ""
    parts: list[object] = []

    def walk(node: etree._Element, glued: bool) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if isinstance(child.tag, str):
                name = etree.QName(child).localname
                if name not in skip:
                    marker = None
                    if name in _GLUE_ELEMENTS:
                        marker = _GLUE
                    elif name in spaced and not glued:
                        marker = _BOUNDARY
                    if marker is not None:
                        parts.append(marker)
                    walk(child, glued or marker is _GLUE)
                    if marker is not None:
                        parts.append(marker)
            if child.tail:
                parts.append(child.tail)

    walk(el, False)
    out: list[str] = []
    pending = False
    last = ""
    for part in parts:
        if part is _BOUNDARY:
            pending = True
        elif part is _GLUE:
            pending = False
        elif isinstance(part, str):
            if pending and last[-1:].isalnum() and part[:1].isalnum():
                out.append(" ")
            out.append(part)
            last = part
            pending = False
    return clean("".join(out))


def xml_parser() -> etree.XMLParser:
    """A parser that never fetches DTDs or expands external entities (untrusted input)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
