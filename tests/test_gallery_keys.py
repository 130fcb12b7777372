"""API keys stored in the gallery (both backends): made once, stored hashed, found in constant time, revoked; the
layout-1 -> 2 upgrade of an existing SQLite gallery; ``facerec keys`` and ``facerec serve``'s refusals."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from facerec.cli import cli
from facerec.errors import ConfigurationError
from facerec.gallery import Gallery, SQLiteGallery, open_gallery
from facerec.gallery.errors import ApiKeyNotFoundError, NameTakenError
from facerec.gallery.keys import create_key, find_key, list_keys, revoke_key, role_allows
from test_gallery import pg_dsn  # noqa: F401 - the PostgreSQL server fixture

OpenGallery = Callable[[], Gallery]


@pytest.fixture(params=["sqlite", "postgres"])
def open_new(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OpenGallery]:
    if request.param == "sqlite":
        path = tmp_path / "gallery.sqlite"
        yield lambda: SQLiteGallery(path)
        return
    dsn = request.getfixturevalue("pg_dsn")
    from facerec.gallery.postgres import PostgresGallery

    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield lambda: PostgresGallery(dsn, schema=schema)
    PostgresGallery(dsn, schema=schema).drop()


def test_keys_made_found_listed_revoked(open_new: OpenGallery) -> None:
    with open_new() as gallery:
        key, token = create_key(gallery, " ops ", "write")
        assert key.name == "ops" and key.role == "write" and token.startswith("frk_") and len(token) > 40
        assert key.prefix == token[:10]
        other, other_token = create_key(gallery, "viewer", "read")
        with pytest.raises(NameTakenError, match="ops"):
            create_key(gallery, "ops", "admin")
        with pytest.raises(ConfigurationError, match="role"):
            create_key(gallery, "x", "owner")
        with pytest.raises(ConfigurationError, match="name"):
            create_key(gallery, "  ", "read")
    with open_new() as gallery:  # stored, and found again after reopening
        assert [(k.name, k.role) for k in list_keys(gallery)] == [("ops", "write"), ("viewer", "read")]
        found = find_key(gallery, token)
        assert found is not None and found.id == key.id and found.created == key.created
        assert find_key(gallery, other_token).name == "viewer"  # type: ignore[union-attr]
        assert find_key(gallery, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
        assert find_key(gallery, "") is None
        assert revoke_key(gallery, "ops").name == "ops"
        assert find_key(gallery, token) is None
        with pytest.raises(ApiKeyNotFoundError):
            revoke_key(gallery, "ops")
        assert revoke_key(gallery, other.id).name == "viewer"
        assert list_keys(gallery) == []


def test_only_the_hash_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    with open_gallery(path) as gallery:
        _, token = create_key(gallery, "k", "admin")
    raw = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                               if path.with_name(path.name + "-wal").exists() else b"")
    assert token.encode() not in raw
    with sqlite3.connect(path) as conn:
        (stored,) = conn.execute("SELECT key_hash FROM api_keys").fetchone()
    assert stored == hashlib.sha256(token.encode()).hexdigest()


def test_roles_are_ordered() -> None:
    assert role_allows("admin", "write") and role_allows("write", "read") and role_allows("read", "read")
    assert not role_allows("read", "write") and not role_allows("write", "admin")
    assert not role_allows("owner", "read") and not role_allows("admin", "root")


def test_layout_1_gallery_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with open_gallery(path):
        pass
    with sqlite3.connect(path) as conn:  # make it a layout-1 file as facerec 0.1 wrote them
        conn.execute("DROP TABLE api_keys")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    with open_gallery(path) as gallery:
        create_key(gallery, "k", "read")
        assert gallery.integrity_check() == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)


def test_keys_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    gallery = str(tmp_path / "g.sqlite")
    made = runner.invoke(cli, ["keys", "create", "--role", "admin", "--name", "root", "--gallery", gallery])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("frk_") and "\n" not in token
    listed = runner.invoke(cli, ["keys", "list", "--gallery", gallery])
    assert listed.exit_code == 0 and "root" in listed.stdout and "admin" in listed.stdout
    assert token not in listed.stdout and token[:10] in listed.stdout
    as_json = runner.invoke(cli, ["keys", "create", "--role", "read", "--name", "ro", "--gallery", gallery, "--json"])
    assert '"key": "frk_' in as_json.stdout
    again = runner.invoke(cli, ["keys", "create", "--role", "read", "--name", "ro", "--gallery", gallery])
    assert again.exit_code == 2 and "exists already" in again.stderr
    bad_role = runner.invoke(cli, ["keys", "create", "--role", "owner", "--name", "x", "--gallery", gallery])
    assert bad_role.exit_code == 2
    revoked = runner.invoke(cli, ["keys", "revoke", "root", "--gallery", gallery])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    missing = runner.invoke(cli, ["keys", "revoke", "root", "--gallery", gallery])
    assert missing.exit_code == 2 and "no API key" in missing.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com", "::"])
def test_serve_refuses_no_auth_off_loopback(tmp_path: Path, host: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--no-auth", "--host", host, "--gallery", str(tmp_path / "g.sqlite")])
    assert result.exit_code == 2 and "loopback" in result.stderr


def test_loopback_hosts() -> None:
    from facerec.service import is_loopback

    assert all(is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.com", ""))
