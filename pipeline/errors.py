"""The project's exception tree; every error carries a hint that says how to fix it.

::

    PressError                    base: message + ``hint``
    ├── ConfigError               bad press.toml / PRESS_* value, missing model package
    ├── LoadError                 one input file or record could not be parsed
    │   └── UnknownFormatError    --format auto could not tell what a file is
    ├── IndexError_               vector/lexical index missing, corrupt or out of sync
    │   └── IndexBusyError        another process holds the index's writer lock
    ├── RetrievalError            a search could not run (empty index, bad filter)
    ├── PromptError               a prompt file is malformed or its variables do not match
    ├── DraftError                the drafting stage failed (LLM unreachable, invalid reply)
    ├── RenderError               an article field cannot be rendered (e.g. a bad date)
    ├── StoreError                the article store cannot be opened, migrated or read
    │   ├── NotFoundError         no such article, revision or user
    │   └── ConcurrentUpdateError another action changed the article first (optimistic lock)
    └── ReviewError               a workflow action was refused; the hint names the next steps
        ├── InvalidTransition     the article's status does not allow the action
        └── PermissionDenied      the user's roles (or authorship) do not allow it

The CLI prints ``str(error)`` and the hint, and exits with code 2 for configuration
errors and 1 otherwise; nothing else should reach the user as a traceback.
"""

from __future__ import annotations


class PressError(Exception):
    """Base class: a message saying what went wrong and a hint saying how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(PressError):
    """A setting is invalid or something the settings point at is missing."""

    exit_code = 2


class LoadError(PressError):
    """One input file (or one record in it) could not be read into a Citation."""

    def __init__(self, message: str, hint: str = "", *, path: str = "", record: str = "") -> None:
        super().__init__(message, hint)
        self.path = path
        self.record = record


class UnknownFormatError(LoadError):
    """Automatic format detection could not recognise a file."""


class IndexError_(PressError):
    """The index is missing, corrupt or inconsistent with the passage store."""


class IndexBusyError(IndexError_):
    """Another process is writing to the same index."""


class RetrievalError(PressError):
    """A search could not be run."""


class PromptError(PressError):
    """A prompt template is malformed or is rendered with the wrong variables."""


class DraftError(PressError):
    """Drafting failed: the model was unreachable, too slow, or replied invalidly."""


class DraftFailed(DraftError):
    """The model's reply still missed the house format after one repair round.

    ``violations`` lists exactly what is missing; ``draft`` is the last reply that parsed
    (or None) and ``usage`` the tokens spent. :func:`pipeline.draft.draft_article` turns
    it into a revision stored as *failed — needs redraft*, never as a normal draft.
    """

    def __init__(
        self,
        message: str,
        hint: str,
        violations: list[str],
        draft: object | None = None,
        usage: object | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.violations = violations
        self.draft = draft
        self.usage = usage


class RenderError(PressError):
    """An article cannot be rendered because one of its fields is malformed."""


class PublishError(PressError):
    """The site cannot be built from these entries or into this directory."""


class StoreError(PressError):
    """The article store could not be opened, migrated, read or written."""


class NotFoundError(StoreError):
    """No article, revision or user with the given name exists in the store."""


class ConcurrentUpdateError(StoreError):
    """Another action changed the article between reading it and writing the change.

    Raised by the optimistic lock (a version counter checked in the UPDATE's WHERE clause);
    nothing was written, so running the command again acts on the new state.
    """


class ReviewError(PressError):
    """A review-workflow action was refused; the hint lists what may happen next."""


class InvalidTransition(ReviewError):
    """The article's current status does not allow the requested action."""


class PermissionDenied(ReviewError):
    """The acting user's roles, or authorship of the revision, forbid the action."""
