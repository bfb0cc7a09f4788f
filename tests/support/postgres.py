"""A real PostgreSQL server for tests: Debian's binaries, a throw-away cluster on a free loopback port."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from support.processes import free_port

_SUPERUSER = "observatory"


def postgres_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin``; fails (never skips) when none is installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[-3]))
    if not found:
        raise AssertionError("PostgreSQL is not installed; run `make test`, which installs Debian's postgresql")
    return Path(found[-1]).parent


class PostgresServer:
    """A running cluster; each test gets a database of its own from :meth:`create_database`."""

    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3 driver, trust authentication)."""
        return f"postgresql+psycopg://{_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(f"host=127.0.0.1 port={self.port} user={_SUPERUSER} dbname=postgres", autocommit=True)

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting whoever is still connected."""
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def running_postgres(timeout: float = 60.0) -> Iterator[PostgresServer]:
    """initdb a cluster in a temporary folder, run ``postgres`` on it, and remove both afterwards.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` system
    user (its folder lives directly under the temporary directory, which that user can reach).
    """
    bindir = postgres_bindir()
    user = "postgres" if os.geteuid() == 0 else None
    workdir = Path(tempfile.mkdtemp(prefix="observatory-postgres-"))
    data = workdir / "data"
    if user is not None:
        shutil.chown(workdir, user)
    process = None
    log = workdir / "postgres.log"
    try:
        subprocess.run(
            [bindir / "initdb", "-D", data, "-U", _SUPERUSER, "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync"],
            user=user,
            cwd=workdir,
            check=True,
            capture_output=True,
            timeout=120,
        )
        port = free_port()
        # Durability settings off: the cluster is thrown away, and tests want speed.
        settings = ("listen_addresses=127.0.0.1", "unix_socket_directories=", "fsync=off", "full_page_writes=off")
        argv = [bindir / "postgres", "-D", data, "-p", str(port), *(f"-c{setting}" for setting in settings)]
        with log.open("wb") as output:
            process = subprocess.Popen(argv, user=user, cwd=workdir, stdout=output, stderr=subprocess.STDOUT)
        server = PostgresServer(port, log)
        _wait_until_ready(server, process, timeout)
        yield server
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_ready(server: PostgresServer, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AssertionError(f"postgres exited with {process.returncode}:\n{server.log.read_text()[-2000:]}")
        try:
            server._admin().close()
            return
        except psycopg.OperationalError as error:
            if time.monotonic() > deadline:
                raise AssertionError(f"postgres did not accept connections within {timeout} s: {error}") from None
        time.sleep(0.1)


def _stop(process: subprocess.Popen) -> None:
    # SIGINT is PostgreSQL's fast shutdown: it disconnects clients instead of waiting for them.
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
