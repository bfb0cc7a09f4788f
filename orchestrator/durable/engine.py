"""Database engines for the store: SQLite in WAL mode embedded, PostgreSQL through psycopg 3."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

# Execution option that makes a SQLite transaction take the write lock at BEGIN.
_WRITE = "observatory_write"
_SQLITE_BUSY_TIMEOUT_S = 30.0


class StoreError(Exception):
    """The store cannot be opened; the message is one line and hides any password."""


class StoreUrlError(StoreError, ValueError):
    """A store URL that names no supported database."""


def create_store_engine(url: str) -> Engine:
    """An engine for ``sqlite:///FILE`` (``sqlite://`` for memory) or ``postgresql://…`` (psycopg 3)."""
    try:
        parsed = sa.make_url(url)
    except ArgumentError:
        raise StoreUrlError(f"store URL {url!r} is not a database URL (sqlite:///FILE or postgresql://…)") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername != "postgresql+psycopg":
            raise StoreUrlError(f"store URL driver {parsed.drivername!r} is not supported: use postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True)
    shown = parsed.render_as_string(hide_password=True)
    raise StoreUrlError(f"store URL {shown!r}: only sqlite and postgresql are supported")


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    engine = sa.create_engine(
        url,
        connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        # Every connection to a memory database is a database of its own: share one.
        poolclass=StaticPool if in_memory else None,
    )

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # The driver's own implicit BEGIN is off so that the begin hook below decides the kind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A writer takes the lock at BEGIN: a deferred transaction that reads and then writes
        # fails with SQLITE_BUSY when another writer committed in between, without waiting.
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextlib.contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write; committed on exit, rolled back on error."""
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE: True})
        with connection.begin():
            yield connection


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (WAL lets it run beside a writer on SQLite)."""
    with engine.connect() as connection, connection.begin():
        yield connection
