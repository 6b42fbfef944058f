"""PostgreSQL clusters of one's own, in a directory, on a free port: a primary, and streaming replicas made from it
with pg_basebackup. For bench/hosts/run.py, bench/backup.py and tests/ops (never the machine's shared server).

Needs PostgreSQL 15's programs (PG_BIN, by default /usr/lib/postgresql/15/bin): apt-get install postgresql.
As root, the clusters run as the `postgres` user (initdb and postgres refuse root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """One cluster in `directory`/data, listening on `listen` (comma-separated addresses) and `port`."""

    def __init__(self, directory: Path, *, listen: str = "127.0.0.1", port: int | None = None) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.listen = listen
        self.host = listen.split(",")[0]
        self.port = port or free_port()
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@{self.host}:{self.port}/{database}"

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.as_owner, *argv], capture_output=True, text=True, check=False)
        if check and result.returncode:
            raise RuntimeError(f"{' '.join(argv[:2])} failed ({result.returncode}): {result.stderr or result.stdout}")
        return result

    def _prepare(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL's programs are not in {PG_BIN}: set PG_BIN, or apt-get install postgresql")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log.touch()
        if self.as_owner:
            shutil.chown(self.directory, "postgres")
            shutil.chown(self.log, "postgres")

    def init_primary(self) -> Cluster:
        """initdb, with what streaming replication needs (replication connections trusted from `listen`)."""
        self._prepare()
        self.run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 0.0.0.0/0 trust\nhost all postgres 0.0.0.0/0 trust\n")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 5\nfsync = on\n")
        return self

    def init_replica_of(self, primary: Cluster) -> Cluster:
        """A hot standby made with pg_basebackup -R (it streams from `primary`). hot_standby_feedback keeps long
        reads (exports) from being cancelled by the primary's vacuum."""
        self._prepare()
        self.run(str(PG_BIN / "pg_basebackup"), "-h", primary.host, "-p", str(primary.port), "-U", "postgres",
                 "-D", str(self.data), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("hot_standby = on\nhot_standby_feedback = on\n")
        return self

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        options = f"-p {self.port} -c listen_addresses={self.listen} -k {self.directory}"
        return self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                        *args, check=check)  # fmt: skip

    def start(self) -> Cluster:
        self.pg_ctl("start")
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self.pg_ctl("stop", "-m", mode, check=False)

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql (autocommit); its output, unaligned and without headers."""
        result = self.run(str(PG_BIN / "psql"), "-h", self.host, "-p", str(self.port), "-U", "postgres",
                          "-d", database, "-XAtc", statement)  # fmt: skip
        return result.stdout.strip()

    def create_database(self, name: str) -> None:
        self.sql(f'CREATE DATABASE "{name}"')

    def wait_streaming(self, timeout: float = 30) -> None:
        """Until this standby streams from its primary."""
        deadline = time.monotonic() + timeout
        while self.sql("SELECT coalesce((SELECT status FROM pg_stat_wal_receiver), '')") != "streaming":
            if time.monotonic() > deadline:
                raise RuntimeError(f"The replica on port {self.port} does not stream: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
