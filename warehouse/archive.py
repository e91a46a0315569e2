"""Raw-input archive: every input file is kept, by content hash, before anything else happens.

Files land at ``<home>/raw/<sha[:2]>/<sha>/<safe original name>`` via a temporary name and an
atomic rename; archiving the same bytes twice is a no-op. The ``raw_files`` table indexes them
(write that row in the same lake transaction as the data it produced).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from warehouse.tables.system import RAW_FILES

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1 << 22


@dataclass(frozen=True)
class ArchivedFile:
    sha256: str
    path: Path
    original_name: str
    size_bytes: int

    def as_row(self, media_kind: str) -> pa.Table:
        """The ``raw_files`` row describing this archive entry."""
        return pa.table(
            {
                "raw_sha256": [self.sha256],
                "raw_original_name": [self.original_name],
                "raw_archive_path": [str(self.path)],
                "raw_size_bytes": [self.size_bytes],
                "raw_media_kind": [media_kind],
                "archived_utc": pa.array([dt.datetime.now(dt.UTC)], pa.timestamp("us", tz="UTC")),
            },
            schema=RAW_FILES.schema,
        )


def safe_name(name: str) -> str:
    """A file name with no directories, no traversal and only portable characters."""
    base = os.path.basename(name.replace("\\", "/")) or "unnamed"
    cleaned = _SAFE.sub("_", base).strip("._") or "unnamed"
    return cleaned[:200]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    buf = bytearray(_CHUNK)  # one buffer for the whole file: no fresh memory for every chunk read
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def archive_file(raw_dir: Path, source: Path, original_name: str | None = None) -> ArchivedFile:
    """Copy ``source`` into the archive under its content hash (idempotent, atomic).

    The bytes are copied first (by the kernel: ``sendfile``) and the hash is taken of the copy, so
    the name always matches what was archived, even if ``source`` changes meanwhile."""
    name = safe_name(original_name or source.name)
    raw_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".incoming.", dir=raw_dir)
    tmp = Path(tmp_name)
    try:
        os.close(fd)
        shutil.copyfile(source, tmp)
        sha = sha256_file(tmp)
        size = tmp.stat().st_size
        dest_dir = raw_dir / sha[:2] / sha
        dest = dest_dir / name
        if dest.is_file() and dest.stat().st_size == size:
            tmp.unlink()
            return ArchivedFile(sha, dest, original_name or source.name, size)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        dest_dir.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ArchivedFile(sha, dest, original_name or source.name, size)


def archive_bytes(raw_dir: Path, data: bytes, original_name: str) -> ArchivedFile:
    """Archive an in-memory payload (a provider response) the same way."""
    fd, tmp = tempfile.mkstemp(prefix=".payload.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return archive_file(raw_dir, Path(tmp), original_name)
    finally:
        Path(tmp).unlink(missing_ok=True)
