"""Error hints phrased for the browser.

Workflow and store errors carry hints written for the command line ("Edit it (`press edit
SLUG`)", "You may: submit, request-changes"). People at the desk have buttons, not a shell:
:func:`browser_hint` rewrites each ``press`` command into what to do on the desk, and the
command names in "You may …" / "Next steps …" lists into the buttons' labels.
"""

from __future__ import annotations

import re

from pipeline.review.machine import Action

_COMMANDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(pattern), text)
    for pattern, text in [
        (r"`press edit[^`]*`", "“Edit the Markdown” on the article page"),
        (r"`press diff[^`]*`", "the revision history on the article page"),
        (r"`press (status|history|queue)[^`]*`", "the queue"),
        (r"`press acknowledge[^`]*`", "the “Acknowledge” button under the flagged sentence"),
        (r"`press draft[^`]*`", "“New draft”"),
        (r"`press users[^`]*`", "an administrator"),
        (r"`press [^`]*`", "the desk's buttons, or an administrator"),
    ]
]
_LABELS = {a.command: a.label.capitalize() for a in Action if a is not Action.DRAFT}
_LABELS[Action.DRAFT.command] = "Edit"
_LIST = re.compile(r"(You may: |Next steps: )([^.]*)")
_NAME = re.compile(
    r"(?<![\w-])("
    + "|".join(map(re.escape, sorted(_LABELS, key=len, reverse=True)))
    + r")(?![\w-])"
)


def browser_hint(hint: str) -> str:
    """``hint`` with CLI commands replaced by what to do on the desk."""
    for pattern, text in _COMMANDS:
        hint = pattern.sub(text, hint)
    hint = hint.replace("Pass --comment '…'", "Fill in the comment")
    hint = hint.replace("Pass --reason '…'", "Fill in the reason")
    return _LIST.sub(
        lambda m: m.group(1) + _NAME.sub(lambda n: _LABELS[n.group(1)], m.group(2)), hint
    )
