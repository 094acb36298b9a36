"""Citation → passages: token-aware and section-aware chunking.

Rules, in order:

1. A body that fits ``max_tokens`` stays whole (abstracts are usually one passage); section
   headings are kept inline ("Results: …") so a structured abstract reads as one text.
2. Otherwise each section is chunked on its own, so a passage never straddles two
   headings; sections much shorter than the limit are merged into the next one.
3. A section over the limit is packed sentence by sentence into windows of at most
   ``max_tokens``, each window starting with up to ``overlap_tokens`` of the previous
   window's last sentences; a single sentence over the limit is cut by tokens.

Token counts use tiktoken (``chunking.encoding``), loaded offline (:mod:`pipeline.tokens`).
"""

from __future__ import annotations

from pipeline.errors import ConfigError
from pipeline.models.corpus import Citation, Passage, Section
from pipeline.settings.corpus import ChunkSettings
from pipeline.text import normalize_space, split_sentences
from pipeline.tokens import get_encoding


class Chunker:
    """Splits citations into :class:`Passage` objects under a token limit."""

    def __init__(self, settings: ChunkSettings | None = None) -> None:
        self.settings = settings or ChunkSettings()
        if self.settings.overlap_tokens >= self.settings.max_tokens:
            raise ConfigError(
                "chunking.overlap_tokens must be smaller than chunking.max_tokens",
                "Lower PRESS_CHUNKING__OVERLAP_TOKENS or raise PRESS_CHUNKING__MAX_TOKENS.",
            )
        self._encoding = get_encoding(self.settings.encoding)

    def count(self, text: str) -> int:
        """Tokens in ``text``."""
        return len(self._encoding.encode(text, disallowed_special=()))

    def chunk(self, citation: Citation) -> list[Passage]:
        """All passages of one citation, numbered by ``ordinal`` in reading order."""
        sections = [
            Section(heading=normalize_space(s.heading), text=normalize_space(s.text))
            for s in citation.sections
            if s.text.strip()
        ]
        if not sections:
            return []
        whole = _join(sections)
        limit = self.settings.max_tokens
        whole_tokens = self.count(whole)
        pieces: list[tuple[str, str, int]]
        if whole_tokens <= limit:
            heading = sections[0].heading if len(sections) == 1 else ""
            text = sections[0].text if len(sections) == 1 else whole
            pieces = [(heading, text, self.count(text))]
        else:
            pieces = []
            for heading, text in self._merge_short(sections):
                pieces.extend((heading, window, n) for window, n in self._windows(text))
        return [
            Passage(citation_id=citation.id, text=text, section=heading, ordinal=i, token_count=n)
            for i, (heading, text, n) in enumerate(pieces)
        ]

    def _merge_short(self, sections: list[Section]) -> list[tuple[str, str]]:
        """Fold sections under a quarter of the limit into the following section."""
        merged: list[tuple[str, str]] = []
        pending: list[Section] = []
        for section in sections:
            pending.append(section)
            text = _join(pending) if len(pending) > 1 else section.text
            if self.count(text) >= self.settings.max_tokens // 4:
                merged.append((pending[-1].heading, text))
                pending = []
        if pending:
            text = _join(pending) if len(pending) > 1 else pending[0].text
            if merged and self.count(merged[-1][1] + " " + text) <= self.settings.max_tokens:
                heading, previous = merged.pop()
                merged.append((heading, _join([Section(text=previous), *pending])))
            else:
                merged.append((pending[-1].heading, text))
        return merged

    def _windows(self, text: str) -> list[tuple[str, int]]:
        """Pack sentences into windows under the limit, with sentence-level overlap."""
        limit, overlap = self.settings.max_tokens, self.settings.overlap_tokens
        units: list[tuple[str, int]] = []
        for sentence in split_sentences(text):
            n = self.count(sentence)
            if n <= limit:
                units.append((sentence, n))
            else:
                units.extend(self._cut(sentence))
        windows: list[tuple[str, int]] = []
        current: list[tuple[str, int]] = []
        for unit in units:
            if current and sum(n for _, n in current) + unit[1] + len(current) > limit:
                windows.append(_pack(current))
                carry: list[tuple[str, int]] = []
                for previous in reversed(current):
                    if sum(n for _, n in carry) + previous[1] > overlap:
                        break
                    carry.insert(0, previous)
                current = carry if sum(n for _, n in carry) + unit[1] < limit else []
            current.append(unit)
        if current:
            windows.append(_pack(current))
        return [(t, self.count(t)) for t, _ in windows]

    def _cut(self, sentence: str) -> list[tuple[str, int]]:
        """Split one over-long sentence into token slices of at most the limit."""
        tokens = self._encoding.encode(sentence, disallowed_special=())
        step = self.settings.max_tokens - self.settings.overlap_tokens
        slices = []
        for start in range(0, len(tokens), step):
            piece = tokens[start : start + self.settings.max_tokens]
            slices.append((self._encoding.decode(piece).strip(), len(piece)))
            if start + self.settings.max_tokens >= len(tokens):
                break
        return slices


def _join(sections: list[Section]) -> str:
    return " ".join(f"{s.heading}: {s.text}" if s.heading else s.text for s in sections)


def _pack(units: list[tuple[str, int]]) -> tuple[str, int]:
    return " ".join(t for t, _ in units), sum(n for _, n in units)
