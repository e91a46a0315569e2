"""Real servers on 127.0.0.1 for the scale-out tests, benchmarks and the soak: PostgreSQL 15 (the system's
server binaries) and an S3-compatible store (moto's standalone server).

Both are started once per session by fixtures in ``tests/conftest.py`` and also by ``bench/``.
``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` user
(``runuser``), with its data directory and socket in a temporary directory owned by that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("QE_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_missing() -> str | None:
    """Why a PostgreSQL server cannot be started here, or ``None`` when it can."""
    for tool in ("initdb", "pg_ctl", "postgres", "createdb"):
        if not (PG_BIN / tool).is_file():
            return f"PostgreSQL server binaries not found in {PG_BIN} (apt-get install postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing"
    return None


@dataclass
class PostgresServer:
    """A running PostgreSQL server; :meth:`new_database` gives each test its own catalog."""

    port: int
    root: Path
    _as: list[str]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, text=True, timeout=120)

    def new_database(self, prefix: str = "qe") -> str:
        """Create an empty database; returns its DuckLake catalog URL (``postgres:...``)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self._run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.catalog_url(name)

    def catalog_url(self, dbname: str) -> str:
        return f"postgres:host=127.0.0.1 port={self.port} dbname={dbname} user=postgres"

    def cpu_seconds(self) -> float:
        """CPU seconds the server has used so far: the postmaster with its exited backends (the
        kernel adds a reaped child's time to its parent) and the backends still running (Linux
        ``/proc``; 0.0 where it cannot be read). The difference over a run is the server's share."""
        try:
            pid = int((self.root / "data" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0.0
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(stat.parent.name) == pid:
                ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            elif int(fields[1]) == pid:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throw-away PostgreSQL server (fsync off: test data only) and stop it afterwards."""
    why = postgres_missing()
    if why:
        raise RuntimeError(why)
    root = Path(tempfile.mkdtemp(prefix="qe-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        pg = pwd.getpwnam("postgres")
        os.chown(root, pg.pw_uid, pg.pw_gid)
        root.chmod(0o700)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data = root / "data"
    try:
        subprocess.run([*as_user, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                        "--no-sync"], check=True, capture_output=True, text=True, timeout=180, cwd=root)
        opts = (f"-k {root} -h 127.0.0.1 -p {port} -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=300")
        subprocess.run([*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"),
                        "-w", "-t", "120", "start"], check=True, capture_output=True, text=True, timeout=180, cwd=root)
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout} {log[-2000:]}") from exc
    try:
        yield PostgresServer(port, root, as_user)
    finally:
        subprocess.run([*as_user, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=120, cwd=root, check=False)
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class S3Server:
    """moto's standalone S3 server on 127.0.0.1 (any key id and secret are accepted)."""

    endpoint: str  # host:port
    access_key_id: str = "qe-test-key"
    secret_access_key: str = "qe-test-secret"
    region: str = "us-east-1"

    def new_bucket(self, prefix: str = "qe") -> str:
        """Create a bucket; returns its name."""
        import boto3

        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        client = boto3.client("s3", endpoint_url=f"http://{self.endpoint}", aws_access_key_id=self.access_key_id,
                              aws_secret_access_key=self.secret_access_key, region_name=self.region)
        client.create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> list[str]:
        """Keys of every object in ``bucket``."""
        import boto3

        client = boto3.client("s3", endpoint_url=f"http://{self.endpoint}", aws_access_key_id=self.access_key_id,
                              aws_secret_access_key=self.secret_access_key, region_name=self.region)
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    def env(self) -> dict[str, str]:
        """``QE_LAKE_S3_*`` settings that point a lake at this server."""
        return {"QE_LAKE_S3_ENDPOINT": self.endpoint, "QE_LAKE_S3_URL_STYLE": "path", "QE_LAKE_S3_USE_SSL": "false",
                "QE_LAKE_S3_ACCESS_KEY_ID": self.access_key_id, "QE_LAKE_S3_SECRET_ACCESS_KEY": self.secret_access_key,
                "QE_LAKE_S3_REGION": self.region}


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    """Start moto's S3 server on 127.0.0.1 in this process (a thread) and stop it afterwards."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield S3Server(f"127.0.0.1:{port}")
    finally:
        server.stop()
