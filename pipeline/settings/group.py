"""The base class of every settings group: each field is declared drafting or not.

A group lists its fields in ``DRAFTING`` (they change what is drafted, so they are hashed into
the build cache key) or ``NOT_DRAFTING`` (threads, timeouts, paths, secrets). A group with a
field in neither set, or in both, is refused when the class is defined, so a new field cannot
be added without deciding.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class SettingsGroup(BaseModel):
    """A settings group; subclasses classify every field as drafting or not (module doc)."""

    model_config = ConfigDict(extra="forbid")

    DRAFTING: ClassVar[frozenset[str]] = frozenset()
    """Fields that change what is drafted: hashed by :func:`settings_hash`."""
    NOT_DRAFTING: ClassVar[frozenset[str]] = frozenset()
    """Fields that only change how, where or how fast it runs: not hashed."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a group whose fields are not each in exactly one of the two sets."""
        super().__pydantic_init_subclass__(**kwargs)
        fields = set(cls.model_fields)
        problems = [
            *(
                f"{n} is in neither DRAFTING nor NOT_DRAFTING"
                for n in sorted(fields - cls.DRAFTING - cls.NOT_DRAFTING)
            ),
            *(f"{n} is in both sets" for n in sorted(cls.DRAFTING & cls.NOT_DRAFTING)),
            *(f"{n} is not a field" for n in sorted((cls.DRAFTING | cls.NOT_DRAFTING) - fields)),
        ]
        if problems:
            raise TypeError(f"{cls.__name__}: " + "; ".join(problems))
