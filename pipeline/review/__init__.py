"""The review workflow: guarded transitions, permissions, the audit log and its replay.

Nothing reaches readers until a Medical Advisory Board reviewer has approved exactly the
text being published. The status belongs to an article's *current* revision::

    a new revision (from any status: `press draft` again, `press edit`)
      │
      ▼
    draft ──submit──▶ submitted ──start_review──▶ under_review ──approve──▶ approved
                       ▲    │                          │                       │
                 submit│    │request_changes           │request_changes        │publish
                       │    ▼                          │                       ▼
                  changes_requested ◀──────────────────┘                   published
                                                                               │retract
                                                                               ▼
                                                                           retracted
    withdraw: draft, submitted, under_review, changes_requested, approved ──▶ withdrawn

    who may: submit — an author · start_review, request_changes (comment) — a reviewer ·
    approve — a reviewer who did not write the revision (binds its content hash) ·
    publish — a publisher, when the stored text's hash equals the approved hash ·
    retract (reason) — a publisher · withdraw — the revision's author or a publisher ·
    admin — everything but approving their own revision.

* **Roles.** author, reviewer (Medical Advisory Board), publisher; admin may do everything
  except approve a revision they wrote. A user may hold several roles.
* **Approval binds to a content hash.** Approving records the revision's content hash
  (:func:`pipeline.store.content.content_hash`); a new revision — any edit, or drafting the
  same question again with a different result — starts at ``draft`` with no approval.
  Publishing re-computes the hash from the stored revision and refuses unless it equals the
  approved one. A live publication stays live while a newer revision is in review (readers
  keep the approved text); retracting it removes it, and only turns the status to
  ``retracted`` when the current revision is the published one.
* **One guarded method per transition** (:meth:`~pipeline.review.workflow.Workflow.submit` …).
  A refusal raises :class:`~pipeline.errors.InvalidTransition` (the status does not allow it)
  or :class:`~pipeline.errors.PermissionDenied` (the user may not); the hint lists what the
  user may do and who may take each next step. :func:`~pipeline.review.machine.allowed_actions`
  answers "what may this user do now" for the CLI and any UI, from the same guard.
* **Audit.** Every transition writes exactly one ``review_log`` row (namespaced action such as
  ``review.approve``, actor, revision, content hash, comment, time) in the transaction that
  changes the state, under the article's optimistic lock.
  :func:`~pipeline.review.machine.apply` is the pure transition function the workflow uses to
  compute the new state, and :func:`~pipeline.review.machine.replay` folds a log through it:
  replaying an article's log reproduces its stored state. A new revision is itself a logged
  transition (``review.draft``), so the log alone rebuilds the state.

Modules: :mod:`~pipeline.review.machine` (the pure state machine: statuses, roles, the
transition table, guards, ``apply``, ``replay``), :mod:`~pipeline.review.workflow`
(``Workflow``: the guarded methods on the store), :mod:`~pipeline.review.gate` (what must be
settled before approving or publishing), :mod:`~pipeline.review.editing` (re-checking an
edit against its revision's evidence), :mod:`~pipeline.review.users` (allowed user names,
admin changes to users), :mod:`~pipeline.review.follow_up` (follow-up questions),
:mod:`~pipeline.review.views` (status, history, queue and diff as plain data for the CLI and
a UI). This ``__init__`` only documents the package: import names from their modules.
"""
