"""Passwords for the web desk: argon2id hashes (``argon2-cffi``) kept in the store.

:func:`set_password` hashes and stores, and ends the user's open sessions;
:func:`authenticate` verifies and returns the user (never a disabled or removed one).
An unknown user or a user without a password costs one verification of a dummy hash too,
so response time does not reveal which names exist. Hashes made with older parameters are
re-hashed on the next successful sign-in.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pipeline.errors import ReviewError
from pipeline.store.credentials import Credentials
from pipeline.store.db import Store
from pipeline.store.records import User
from pipeline.store.sessions import Sessions
from pipeline.store.timestamps import utc_now

MIN_LENGTH = 8
"""Shortest password accepted."""

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


def set_password(store: Store, name: str, password: str) -> None:
    """Hash ``password`` and store it as ``name``'s web-desk password."""
    if len(password) < MIN_LENGTH:
        raise ReviewError(
            f"The password for {name} is too short",
            f"Use at least {MIN_LENGTH} characters (a phrase of several words is best).",
        )
    at = utc_now()
    Credentials(store).set_password_hash(name, _HASHER.hash(password), at=at)
    # A new password ends every session signed in with the old one (a stolen cookie too).
    Sessions(store).end_for_user(name, reason="password changed", at=at)


def authenticate(store: Store, name: str, password: str) -> User | None:
    """The user if ``password`` is theirs, else ``None`` (unknown user, no or wrong password)."""
    credentials = Credentials(store)
    stored = credentials.password_hash(name)
    try:
        _HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if stored is None:
        return None
    user = store.find_user(name)
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(stored):
        credentials.set_password_hash(name, _HASHER.hash(password), at=utc_now())
    return user


def has_any_password(store: Store) -> bool:
    """True when at least one user may sign in."""
    return bool(Credentials(store).names())
