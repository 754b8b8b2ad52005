"""A throw-away PostgreSQL server for the tests: one per test session, on a unix socket in a temporary folder.

It needs the server binaries of Debian's ``postgresql-15`` package (``.ci/run`` installs it). The server listens
on no TCP port, only on a socket in its own folder, trusts local connections, and runs as an unprivileged
system user when the tests run as root (PostgreSQL refuses to run as root). It is stopped and deleted at the
end of the session.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_USER = "postgres"
"""System user that runs the server when the tests run as root (the Debian package creates it)."""
FALLBACK_USER = "nobody"
DATABASE = "egid"
TIMEOUT_S = 60


def _bin_dir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: PostgreSQL 15 from Debian, else the newest installed version."""
    preferred = Path("/usr/lib/postgresql/15/bin")
    if (preferred / "initdb").exists():
        return preferred
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path is None:
        pytest.fail("PostgreSQL server binaries not found: apt-get install -y postgresql-15 (see .ci/run)")
    return Path(on_path).parent


def _server_user() -> str | None:
    """The unprivileged user to run the server as, or None when the tests do not run as root."""
    if os.geteuid() != 0:
        return None
    for name in (SERVER_USER, FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.fail(f"running as root, and neither user {SERVER_USER!r} nor {FALLBACK_USER!r} exists to run PostgreSQL")


def _run(command: list[str], user: str | None) -> None:
    full = ["runuser", "-u", user, "--", *command] if user else command
    done = subprocess.run(full, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """SQLAlchemy URL (``postgresql://egid@/egid?host=<socket folder>``) of a fresh, empty database."""
    bin_dir, user = _bin_dir(), _server_user()
    # Not under pytest's tmp_path: its folders are private to the test user, and the server user must enter.
    root = Path(tempfile.mkdtemp(prefix="egid-pg-"))
    data = root / "data"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    try:
        _run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", DATABASE, "--auth=trust", "--no-sync", "-E", "UTF8"], user
        )
        options = f"-c listen_addresses='' -k {root} -c fsync=off -c max_connections=50"
        pg_ctl = str(bin_dir / "pg_ctl")
        _run(
            [
                pg_ctl,
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                str(TIMEOUT_S),
                "start",
            ],
            user,
        )
        try:
            _run([str(bin_dir / "createdb"), "-h", str(root), "-U", DATABASE, DATABASE], user)
            yield f"postgresql://{DATABASE}@/{DATABASE}?host={root}"
        finally:
            _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], user)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database on the session's server (no Optuna tables yet), dropped afterwards."""
    import sqlalchemy

    from egid.models.storage import driver_url

    name = f"fresh_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(driver_url(postgres_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
        yield postgres_url.replace(f"/{DATABASE}?", f"/{name}?")
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f"DROP DATABASE {name} WITH (FORCE)"))
    finally:
        engine.dispose()
