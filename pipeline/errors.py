"""The project's exception tree: every class the press raises, with what it means to a user.

Every error carries a message (what went wrong) and a ``hint`` (how to fix it), and two
class attributes that say how it reaches a person: ``exit_code`` for ``press`` (read by
:func:`pipeline.cli.common.handled`) and ``http_status`` for the review desk (read by the
exception handler in :mod:`pipeline.web.app` and the desk's edit form). Neither the CLI nor
the desk keeps a table of its own, so a new class decides both in one place.

::

    PressError                       base: message + ``hint``                        1  500
    ├── ConfigError                  bad press.toml / PRESS_* value / build manifest,
    │                                missing model package                           2  500
    ├── InputError                   an argument or form value is unusable (empty
    │   │                            question, bad --shard / --at / --half)          2  422
    │   └── EvalSetError             a question set or eval report file is malformed 2  422
    ├── BusyError                    another process holds a lock; retry later      75  503
    │   └── BuildBusyError           another build is running on the same store     75  503
    ├── LoadError                    one input file or record could not be parsed    1  422
    │   └── UnknownFormatError       --format auto could not tell what a file is     1  422
    ├── IndexError_                  vector/lexical index missing, corrupt or out of
    │   │                            sync                                            1  500
    │   └── IndexBusyError           another process holds the index's writer lock
    │                                (also a BusyError)                             75  503
    ├── RetrievalError               a search could not run (empty index, bad filter) 1  500
    ├── PromptError                  a prompt file is malformed or its variables do
    │                                not match                                       1  500
    ├── DraftError                   the drafting model failed (unreachable, invalid
    │   │                            reply)                                          1  502
    │   └── DraftFailed              the reply missed the house format after repair  1  502
    ├── RenderError                  an article field cannot be rendered (a bad date) 1  500
    ├── EditError                    edited Markdown cannot be read back into a draft 1  422
    ├── PublishError                 the site cannot be built from these entries     1  500
    │   ├── UnapprovedEntryError     an entry's article is not approved              1  409
    │   └── UnsafeSlugError          a slug is not a plain ``[a-z0-9-]`` name        1  422
    ├── StoreError                   the article store cannot be opened, migrated or
    │   │                            read                                            1  500
    │   ├── NotFoundError            no such article, revision or user               1  404
    │   └── ConcurrentUpdateError    another action changed the article first        1  409
    └── ReviewError                  a workflow action was refused; the hint names
        │                            the next steps                                  1  400
        ├── InvalidTransition        the article's status does not allow the action  1  409
        └── PermissionDenied         the user's roles (or authorship) do not allow it 1  403

The two columns are ``exit_code`` and ``http_status``; a subclass inherits both unless it
sets its own.

Exit codes (``press``): 0 success; 1 the command ran and the work failed or was refused;
2 usage or configuration — fix the command line, press.toml or the manifest and run again
(typer's own usage errors are 2 as well); 75 busy — the same command may succeed later
unchanged (``EX_TEMPFAIL`` of sysexits.h, which schedulers and retry wrappers know). ``press
eval --compare`` adds 3 for a regression, which is a result, not an error class.

HTTP statuses (the desk): 400 a workflow refused the request as sent; 403 the user may
not do this; 404 no such thing; 409 the article's state conflicts with the request (its
status, or a newer version); 422 a value the user typed or uploaded is unusable (as for
the desk's own form validation); 500 a server problem — configuration, index, store,
prompts — that the person at the desk cannot fix; 502 the drafting model (an upstream
server) failed; 503 busy, try again shortly.

Not errors: :class:`ControlFlow` signals are raised and caught inside the press to change
course and never reach a user, so they are deliberately *not* PressErrors (an ``except
PressError`` in a route, a job or the CLI must not swallow them):

* :class:`LoginRequired` — a desk route needs a signed-in user; answered with a redirect to
  the sign-in page (a 303, not an error page). Only the web desk raises it.
* :class:`ModeRejected` — the model endpoint refused a structured-output parameter; the
  drafting chain catches it and tries the next mode, and a refusal of the last mode
  becomes a :class:`DraftError`.

Every exception class of the package lives in this module (``tests/test_errors.py`` checks
the source for classes elsewhere and walks the tree against this docstring).
"""

from __future__ import annotations


class PressError(Exception):
    """Base class: a message saying what went wrong and a hint saying how to fix it.

    ``exit_code`` and ``http_status`` are class attributes (see the module docstring for
    what each value means); the CLI and the desk read them from the raised class.
    """

    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(PressError):
    """A setting (press.toml, PRESS_*, a build manifest) is invalid, or something the
    settings point at (a model package, an endpoint, an executable) is missing.

    The person who runs the server fixes it, so the desk answers 500, not a refusal.
    """

    exit_code = 2
    http_status = 500


class InputError(PressError):
    """An argument or form value is unusable: an empty question, a bad ``--shard`` or
    ``--at``, an option value outside its choices. Usage, not configuration: the same
    command with a corrected argument runs."""

    exit_code = 2
    http_status = 422


class EvalSetError(InputError):
    """A question-set file (or an evaluation report) is missing or malformed; the message
    names the file and line."""


class BusyError(PressError):
    """Another process holds a lock this command needs; the same command may succeed later.

    Exit code 75 (``EX_TEMPFAIL``) lets a scheduler or wrapper tell "try again" apart from a
    failure; the desk answers 503.
    """

    exit_code = 75
    http_status = 503


class BuildBusyError(BusyError):
    """Another ``press build`` holds the store's build lock (one build per store)."""


class LoadError(PressError):
    """One input file (or one record in it) could not be read into a Citation."""

    http_status = 422

    def __init__(self, message: str, hint: str = "", *, path: str = "", record: str = "") -> None:
        super().__init__(message, hint)
        self.path = path
        self.record = record


class UnknownFormatError(LoadError):
    """Automatic format detection could not recognise a file."""


class IndexError_(PressError):
    """The index is missing, corrupt or inconsistent with the passage database."""


class IndexBusyError(IndexError_, BusyError):
    """Another process is writing to the same index (an IndexError_ and a BusyError)."""

    exit_code = 75
    http_status = 503


class RetrievalError(PressError):
    """A search could not be run."""


class PromptError(PressError):
    """A prompt template is malformed or is rendered with the wrong variables."""


class DraftError(PressError):
    """Drafting failed: the model was unreachable, too slow, or replied invalidly.

    The desk answers 502: the failure is the model's (an upstream server), not the request's.
    """

    http_status = 502


class DraftFailed(DraftError):
    """The model's reply still missed the house format after one repair round.

    ``violations`` lists exactly what is missing; ``draft`` is the last reply that parsed
    (or None) and ``usage`` the tokens spent. :func:`pipeline.draft.engine.draft_article` turns
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


class EditError(PressError):
    """Edited Markdown cannot be read back into a draft; names the line and how to fix it.

    Raised by :mod:`pipeline.article.parse` for ``press edit`` and the desk's editor.
    """

    http_status = 422

    def __init__(self, message: str, hint: str = "", *, line: int = 0) -> None:
        super().__init__(f"line {line}: {message}" if line else message, hint)
        self.line = line


class PublishError(PressError):
    """The site cannot be built from these entries or into this directory."""


class UnapprovedEntryError(PublishError):
    """An entry's article is not approved: publishing it would show unreviewed text."""

    http_status = 409


class UnsafeSlugError(PublishError):
    """A slug could escape ``articles/`` or is not a plain ``[a-z0-9-]`` name."""

    http_status = 422


class StoreError(PressError):
    """The article store could not be opened, migrated, read or written."""


class NotFoundError(StoreError):
    """No article, revision or user with the given name exists in the store."""

    http_status = 404


class ConcurrentUpdateError(StoreError):
    """Another action changed the article between reading it and writing the change.

    Raised by the optimistic lock (a version counter checked in the UPDATE's WHERE clause);
    nothing was written, so running the command again acts on the new state.
    """

    http_status = 409


class ReviewError(PressError):
    """A review-workflow action was refused; the hint lists what may happen next."""

    http_status = 400


class InvalidTransition(ReviewError):
    """The article's current status does not allow the requested action."""

    http_status = 409


class PermissionDenied(ReviewError):
    """The acting user's roles, or authorship of the revision, forbid the action."""

    http_status = 403


class ControlFlow(Exception):
    """Base of the internal signals: raised and caught inside the press, never shown.

    Deliberately not a :class:`PressError`, so no ``except PressError`` catches one.
    """


class LoginRequired(ControlFlow):
    """Raised by :meth:`pipeline.web.desk.Desk.user` when nobody is signed in; the desk
    answers with a redirect to the sign-in page that returns to ``next_path``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class ModeRejected(ControlFlow):
    """The model endpoint refused a request because of its structured-output parameters;
    the drafting chain then tries the next mode."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
