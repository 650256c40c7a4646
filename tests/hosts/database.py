"""A PostgreSQL server of the test's own, listening on the hosts' bridge.

The machine's server on 127.0.0.1 serves every other test at the same time: restarting it, or
opening it to the namespaces' addresses, would reach beyond this test. This one is made with the
machine's own PostgreSQL binaries (`initdb` as the `postgres` user, which it requires), in a
temporary directory, and removed afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import shutil
import subprocess
import tempfile
from pathlib import Path


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PrivatePostgres:
    def __init__(self, listen: str, port: int, trusted: str) -> None:
        self.listen, self.port, self.trusted = listen, port, trusted
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.root = Path(tempfile.mkdtemp(prefix="crmflow-pg-"))
        self.data = self.root / "data"

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]}: {result.stdout[-1000:]} {result.stderr[-1000:]}")

    def __enter__(self) -> PrivatePostgres:
        shutil.chown(self.root, "postgres")
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale", "C.UTF-8"
        )
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.trusted} trust\n")
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(RuntimeError):
            self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def _options(self) -> str:
        return f"-p {self.port} -c listen_addresses={self.listen} -k {self.root} -c max_connections=200"

    def start(self) -> None:
        log = str(self.root / "server.log")
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-w", "-o", self._options(), "start")

    def restart(self) -> None:
        """What `pg_ctlcluster <version> main restart` does to the machine's server: a fast
        shutdown (sessions ended, transactions rolled back), then a start."""
        log = str(self.root / "server.log")
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-m", "fast", "-w", "-o", self._options(), "restart")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@{self.listen}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@{self.listen}:{self.port}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
