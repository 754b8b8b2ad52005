"""Where Optuna studies live: a run's private journal file, a shared journal file, or a shared database.

* ``None``: the journal file ``optuna.journal`` in the tuning directory, private to one run. Every trial state
  change is one appended, fsync'ed line under an flock that dies with its holder.
* A URL with ``://``: Optuna's RDB storage, which processes on many machines share (PostgreSQL, MySQL). Its
  trials send a heartbeat every ``heartbeat`` seconds; a trial silent for twice as long belongs to a dead
  worker, is marked failed by the next process that opens or runs the study, and is queued once more (with its
  parameters) for a live worker. ``postgresql://`` means the psycopg2 driver of egid's ``postgres`` extra:
  SQLAlchemy 2.1 would otherwise pick psycopg 3. SQLite (``sqlite:///FILE``) takes one process at a time:
  egid holds an flock on ``FILE.egid-lock`` and refuses a second process with one line, since SQLite's locking
  does not hold up under concurrent Optuna writers (Optuna's FAQ says the same).
* Any other string: a journal file at that path, which processes on one machine may share.

References: Optuna FAQ, "How can I solve the error that occurs when performing parallel optimization with
SQLite3?"; Optuna tutorial "Heartbeat monitoring" (RDBStorage ``heartbeat_interval``/``grace_period``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TypeAlias

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from egid.detector import InputError
from egid.detector.extras import require_extra

__all__ = (
    "DEFAULT_HEARTBEAT",
    "JOURNAL_NAME",
    "MAX_RETRY",
    "StorageSpec",
    "driver_url",
    "fail_dead_trials",
    "open_journal",
    "open_rdb",
    "open_storage",
)

logger = logging.getLogger(__name__)

JOURNAL_NAME = "optuna.journal"
"""File name of the default study storage inside the tuning directory."""

DEFAULT_HEARTBEAT = 60
"""Seconds between two heartbeats of a running trial in a database storage; after twice as long without one the
trial counts as dead. A heartbeat is one small UPDATE, so a minute costs nothing next to a trial's minutes."""

MAX_RETRY = 1
"""Times a dead worker's trial is queued again. A trial whose retry dies too (say its parameters exhaust a
node's memory) stays failed instead of killing worker after worker."""

StorageSpec: TypeAlias = "str | BaseStorage | None"
"""A storage as the tuning functions take it: None (private journal), a URL or path, or an opened storage."""

_SQLITE_LOCKS: dict[str, int] = {}  # database path -> descriptor of the flock this process holds until it exits


class _FlockLock:
    """Exclusive lock of a journal file through ``flock(2)`` on ``<journal>.lock``.

    Optuna's default journal locks (a symlink or an ``O_EXCL`` file) outlive a killed holder, and the next
    process then waits out their 30 s grace period. The kernel releases an flock when its holder dies, so a
    SIGKILL never leaves a stale lock. (flock is local to one machine; share a study across machines through
    an RDB storage URL.)
    """

    def __init__(self, journal: str) -> None:
        self._path = f"{journal}.lock"
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _journal(path: str) -> JournalStorage:
    # Optuna types lock_obj as its BaseJournalFileLock; _FlockLock has the same two methods, and subclassing that
    # private base class would tie egid to Optuna internals.
    return JournalStorage(JournalFileBackend(path, lock_obj=_FlockLock(path)))  # type: ignore[arg-type]


def driver_url(url: str) -> str:
    """``url`` with the driver egid installs made explicit: ``postgresql://`` becomes ``postgresql+psycopg2://``.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which egid's ``postgres`` extra does not install.
    A URL naming its driver (``postgresql+psycopg://``) is kept as it is.
    """
    return "postgresql+psycopg2://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


def _lock_sqlite(url: str) -> None:
    """Hold an flock on the SQLite database of ``url`` for the life of this process; refuse a second process."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    path = str(Path(database).resolve())
    if path in _SQLITE_LOCKS:
        return
    folder = Path(path).parent
    if not folder.is_dir():
        msg = f"{url}: no such directory {folder} for the SQLite database; create it first"
        raise InputError(msg)
    try:
        fd = os.open(f"{path}.egid-lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        msg = f"{url}: cannot create the SQLite database in {folder} ({os.strerror(err.errno or 0).lower()})"
        raise InputError(msg) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        msg = (
            f"{url}: another process is using this SQLite study; SQLite takes one process at a time, "
            "share a study between workers through PostgreSQL or MySQL (postgresql://...)"
        )
        raise InputError(msg) from None
    _SQLITE_LOCKS[path] = fd


SCHEMA_LOCK = "egid-optuna-schema"
"""Name of the database lock held while a process creates or checks Optuna's tables (its number for PostgreSQL:
the CRC-32 of the name)."""


@contextlib.contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """Hold a database-wide lock while the block opens the storage at ``url`` (PostgreSQL and MySQL).

    ``RDBStorage`` creates Optuna's tables when they are missing, and workers started together on an empty
    database would all create them at once: PostgreSQL then refuses all but one (``duplicate key value violates
    unique constraint "pg_type_typname_nsp_index"``, a known problem of concurrent ``CREATE TABLE``). Under the
    lock (PostgreSQL's ``pg_advisory_lock``, MySQL's ``GET_LOCK``, both released with their connection) the
    first worker creates the tables and the others find them. SQLite takes one process at a time anyway.
    """
    backend = make_url(url).get_backend_name()
    statements = {
        "postgresql": ("SELECT pg_advisory_lock(:key)", "SELECT pg_advisory_unlock(:key)"),
        "mysql": ("SELECT GET_LOCK(:name, -1)", "SELECT RELEASE_LOCK(:name)"),
    }
    if backend not in statements:
        yield
        return
    lock, unlock = statements[backend]
    parameters = {"key": zlib.crc32(SCHEMA_LOCK.encode()), "name": SCHEMA_LOCK}
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text(lock), parameters)
            try:
                yield
            finally:
                connection.execute(text(unlock), parameters)
    finally:
        engine.dispose()


def open_rdb(url: str, *, heartbeat: int = DEFAULT_HEARTBEAT) -> RDBStorage:
    """Open the database storage at ``url`` with heartbeats every ``heartbeat`` seconds and one retry of dead trials.

    Raises
    ------
    InputError
        The URL is malformed, its driver is missing, the server cannot be reached, or (SQLite) another process
        already uses the database.
    """
    if heartbeat < 1:
        msg = f"--heartbeat: must be at least 1 second, got {heartbeat}"
        raise InputError(msg)
    full = driver_url(url)
    if full.startswith("postgresql+psycopg2://"):
        require_extra("postgres", needed_by=f"--storage {url}")
    try:
        if make_url(full).get_backend_name() == "sqlite":
            _lock_sqlite(full)
        with warnings.catch_warnings(), _schema_lock(full):
            # Heartbeats have been "experimental" since Optuna 2.9; egid relies on them knowingly.
            warnings.simplefilter("ignore", ExperimentalWarning)
            return RDBStorage(
                full,
                heartbeat_interval=heartbeat,
                grace_period=2 * heartbeat,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY),
            )
    except (SQLAlchemyError, ArgumentError, ImportError, ValueError) as err:  # bad URL, no driver, no server
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        msg = f"{url}: cannot open the Optuna storage: {first}"
        raise InputError(msg) from err


def open_storage(spec: StorageSpec, out_dir: Path) -> tuple[BaseStorage, str, bool]:
    """Return the storage of ``spec``, a printable location, and whether it is this run's private journal file.

    ``spec`` is None (the journal ``out_dir/optuna.journal``, created with its folder), a URL (see
    :func:`open_rdb`, default heartbeat), a journal file path, or a storage already opened.
    """
    if isinstance(spec, BaseStorage):
        return spec, str(getattr(spec, "url", type(spec).__name__)), False
    if spec is None:
        journal = out_dir / JOURNAL_NAME
        out_dir.mkdir(parents=True, exist_ok=True)
        return _journal(str(journal)), str(journal), True
    if "://" in spec:
        return open_rdb(spec), spec, False
    return open_journal(spec), spec, False


def open_journal(path: str) -> JournalStorage:
    """The shared journal file ``path``, its folder created; a path that cannot hold a file raises InputError."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return _journal(path)
    except OSError as err:
        msg = f"{path}: cannot open the Optuna journal ({os.strerror(err.errno or 0).lower()})"
        raise InputError(msg) from None


def fail_dead_trials(study: optuna.Study, store: BaseStorage, *, private: bool, where: str) -> None:
    """Mark the trials of dead processes failed, so that none stays RUNNING and the study can still finish.

    In a private journal only this run writes, so every RUNNING trial is a killed run's. In a database storage
    with heartbeats, a trial is dead once its heartbeat is older than the grace period; it is queued again
    (:data:`MAX_RETRY`). Trials of a shared journal file cannot be told apart and are left alone.
    """
    if private:
        study_id = store.get_study_id_from_name(study.study_name)
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            logger.info("%s: trial %d of a killed run marked failed", where, trial.number)
            trial_id = store.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            store.set_trial_state_values(trial_id, state=TrialState.FAIL)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # see open_rdb
        optuna.storages.fail_stale_trials(study)
