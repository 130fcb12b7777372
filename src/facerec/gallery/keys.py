"""API keys of the service (``facerec serve``), stored hashed in the gallery's own database.

A key is a random token shown once, when it is made (:func:`create_key`); the gallery keeps only its SHA-256, a
short prefix to recognise it in lists, a unique name and a role:

* ``read``: detect, embed, verify, identify, cluster, list and view people and faces;
* ``write``: also enroll, rename, merge and delete;
* ``admin``: also create, list and revoke keys.

:func:`find_key` compares the hash of the offered token with every stored hash in constant time
(:func:`hmac.compare_digest`, no early exit), so response times say nothing about how close a guess was.

Examples:
    >>> with open_gallery("people.sqlite") as gallery:                     # doctest: +SKIP
    ...     key, token = create_key(gallery, "frontend", "read")
    ...     find_key(gallery, token).role
    'read'
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from facerec.errors import ConfigurationError
from facerec.gallery.base import Gallery
from facerec.gallery.errors import ApiKeyNotFoundError, GalleryError, NameTakenError

__all__ = ["ROLES", "ApiKey", "Role", "create_key", "find_key", "list_keys", "revoke_key", "role_allows"]

Role = Literal["read", "write", "admin"]

#: The roles, each allowed everything the ones before it are.
ROLES: tuple[Role, ...] = ("read", "write", "admin")

#: Every token starts with this, so that a leaked key is easy to recognise (and to search for in logs).
TOKEN_PREFIX = "frk_"


@dataclass(frozen=True)
class ApiKey:
    """A stored API key (never the token itself).

    Attributes:
        id: the gallery's id for the key.
        name: unique name (who or what uses it).
        role: ``read``, ``write`` or ``admin``.
        prefix: the token's first characters, to tell keys apart in lists.
        created: when it was made (UTC).
    """

    id: int
    name: str
    role: Role
    prefix: str
    created: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return {"id": self.id, "name": self.name, "role": self.role, "prefix": self.prefix,
                "created": self.created.isoformat()}


def role_allows(role: str, needed: str) -> bool:
    """Whether a key of ``role`` may do what needs ``needed`` (``admin`` > ``write`` > ``read``)."""
    return role in ROLES and needed in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _store(gallery: Gallery) -> Any:
    from facerec.gallery.sql import SQLGallery

    if not isinstance(gallery, SQLGallery):
        raise GalleryError(f"gallery {gallery.location} ({type(gallery).__name__}) cannot store API keys")
    return gallery


def _record(row: tuple[int, str, str, str, str, str]) -> ApiKey:
    key_id, name, role, _, prefix, created = row
    return ApiKey(id=key_id, name=name, role=role, prefix=prefix,  # type: ignore[arg-type]
                  created=datetime.fromisoformat(created))


def create_key(gallery: Gallery, name: str, role: str) -> tuple[ApiKey, str]:
    """Make a new key.

    Args:
        gallery: where to store it.
        name: a unique name for the key.
        role: ``read``, ``write`` or ``admin``.

    Returns:
        The stored key and the token: the token is not stored anywhere and cannot be shown again.

    Raises:
        ConfigurationError: empty name or unknown role.
        NameTakenError: a key of that name exists.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"a key's name must be a non-empty string, got {name!r}")
    if role not in ROLES:
        raise ConfigurationError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    name = name.strip()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = datetime.now(timezone.utc).replace(microsecond=0)
    prefix = token[: len(TOKEN_PREFIX) + 6]
    key_id = _store(gallery).insert_key_row(name, role, _hash(token), prefix, created.isoformat())
    if key_id is None:
        raise NameTakenError(f"an API key called {name!r} exists already in {gallery.location}; revoke it first "
                             "or choose another name")
    return ApiKey(id=key_id, name=name, role=role, prefix=prefix, created=created), token


def list_keys(gallery: Gallery) -> list[ApiKey]:
    """Every key, oldest first."""
    return [_record(row) for row in _store(gallery).key_rows()]


def revoke_key(gallery: Gallery, key: int | str) -> ApiKey:
    """Delete a key (given by name, or by id as an ``int``); requests with it fail from then on.

    Raises:
        ApiKeyNotFoundError: no such key.
    """
    store = _store(gallery)
    for row in store.key_rows():
        wanted = row[0] == key if isinstance(key, int) else row[1] == key.strip()
        if wanted and store.delete_key_row(row[0]):
            return _record(row)
    raise ApiKeyNotFoundError(f"no API key {key!r} in gallery {gallery.location}")


def find_key(gallery: Gallery, token: str) -> ApiKey | None:
    """The key whose token is ``token``, or ``None`` (compared in constant time against every stored key)."""
    offered = _hash(token)
    found: ApiKey | None = None
    for row in _store(gallery).key_rows():
        if hmac.compare_digest(offered, row[3]) and found is None:
            found = _record(row)
    return found
