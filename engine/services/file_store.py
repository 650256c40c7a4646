"""Attachment bytes in a directory (`ATTACHMENT_DIR`) instead of the database, for a set-up whose
files would make the database large: content-addressed (`<dir>/<first two hex>/<sha256>`), so a
file uploaded twice is stored once and a name never carries anything the uploader chose. A file
is written (to a temporary name, synced, renamed) before the row that names it commits: a crash in
between leaves an unreferenced file, never a row without its bytes; `sweep` removes files no row
names any more (after history cleanup, or such a crash) once they are a day old. With several app
hosts the directory must be shared storage (an NFS or SMB mount) that every host sees."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from engine.errors import NotFound, Unavailable

SHA256 = re.compile(r"^[0-9a-f]{64}$")
SWEEP_AGE_SECONDS = 24 * 3600  # an upload still in its transaction is never taken for an orphan


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise NotFound("no such file")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store the bytes (once); their sha256, which names them."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise Unavailable(f"the attachment directory refused the file: {exc.strerror}") from None
        return digest

    def get(self, sha256: str) -> bytes:
        """The bytes, checked against their name: a file changed on disk is not served."""
        try:
            data = self.path(sha256).read_bytes()
        except OSError:
            raise Unavailable("the file is missing from the attachment directory") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise Unavailable("the stored file does not match its checksum: it was changed on disk")
        return data

    def sweep(self, referenced: Callable[[list[str]], set[str]], now: float | None = None, batch: int = 500) -> int:
        """Remove the files a day old or more that no row names (`referenced` says which of a
        batch of names are); the number removed."""
        cutoff = (time.time() if now is None else now) - SWEEP_AGE_SECONDS
        removed = 0
        for names in _batches(self._old_files(cutoff), batch):
            keep = referenced([n.name for n in names])
            for path in names:
                if path.name not in keep:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def _old_files(self, cutoff: float) -> Iterable[Path]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or len(folder.name) != 2:
                continue
            for path in sorted(folder.iterdir()):
                if (SHA256.match(path.name) or path.name.startswith(".upload-")) and path.stat().st_mtime < cutoff:
                    yield path


def _batches(paths: Iterable[Path], size: int) -> Iterable[list[Path]]:
    batch: list[Path] = []
    for path in paths:
        batch.append(path)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
