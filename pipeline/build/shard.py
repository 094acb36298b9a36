"""``--shard I/N``: a deterministic split of a manifest's questions across hosts.

A question belongs to shard ``1 + sha256(question + "\\n" + audience) mod N``. The hash is
stable across processes, machines and Python versions (unlike ``hash()``, which is salted
per process), so N hosts running the same manifest with shards 1/N … N/N draft every
question exactly once, and a question stays on its host when others are added to the list.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from pipeline.build.manifest import BuildQuestion
from pipeline.errors import InputError

Q = TypeVar("Q", bound=BuildQuestion)


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(spec: str) -> Shard:
    """Parse ``I/N`` (1 ≤ I ≤ N); an InputError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if match is None or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise InputError(
            f"Bad shard {spec!r}",
            "Pass --shard I/N with 1 <= I <= N, e.g. --shard 2/3 on the second of three hosts.",
        )
    return Shard(int(match.group(1)), int(match.group(2)))


def shard_of(question: str, audience: str, count: int) -> int:
    """The 1-based shard of a (question, audience) pair among ``count`` shards."""
    digest = hashlib.sha256(f"{question}\n{audience}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def select(questions: Sequence[Q], shard: Shard | None) -> list[Q]:
    """The questions of ``shard`` (all of them without one), in manifest order."""
    if shard is None:
        return list(questions)
    return [q for q in questions if shard_of(q.question, q.audience, shard.count) == shard.index]
