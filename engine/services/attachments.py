"""Files attached to a running instance (DOMAIN.md: the contract PDF, the photo of the damaged
carton), by anyone who may see it, each a line of its history (action `attach`).

What a file is comes from its bytes, never from what the client claims: PDF, PNG, JPEG, GIF,
WebP, the Office formats (OOXML zips and the older OLE files, by their extension once the bytes
are of that family) and UTF-8 text (.txt, .csv). Anything else is refused (422), as is a file
over `ATTACHMENT_MAX_BYTES` (413) or an empty one. The bytes live in the database, so the
embedded set-up stays one file, or with `ATTACHMENT_DIR` set in that directory
(engine.services.file_store; rows stored either way stay readable when the setting changes); they
are served only as downloads (the web layer's job), images also inline for thumbnails."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from engine.errors import Conflict, NotFound, TooLarge, Unavailable, ValidationFailed
from engine.services.file_store import FileStore
from engine.services.identity import Actor
from store.models import Attachment, ProcessInstance

if TYPE_CHECKING:
    from engine.services.history import HistoryService
    from engine.services.runtime import RuntimeService
    from store.db import Database

OPEN = ("running", "suspended")
MAX_FILENAME = 255
MAX_PER_INSTANCE = 100

OOXML = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OLE = {".doc": "application/msword", ".xls": "application/vnd.ms-excel", ".ppt": "application/vnd.ms-powerpoint"}
TEXT = {".txt": "text/plain", ".csv": "text/csv"}
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def content_type_of(filename: str, data: bytes) -> str | None:
    """The type the bytes are, among the accepted ones; None for anything else."""
    suffix = PurePath(filename).suffix.lower()
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"PK\x03\x04") and suffix in OOXML and b"[Content_Types].xml" in data[:4096]:
        return OOXML[suffix]
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") and suffix in OLE:
        return OLE[suffix]
    if suffix in TEXT and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return TEXT[suffix]
    return None


def clean_filename(name: str) -> str:
    """The file's own name without any path, control characters or leading dots; 'file' if none."""
    base = PurePath(name.replace("\\", "/")).name
    kept = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    if len(kept) > MAX_FILENAME:
        stem, suffix = PurePath(kept).stem, PurePath(kept).suffix[:16]
        kept = stem[: MAX_FILENAME - len(suffix)] + suffix
    return kept or "file"


class AttachmentService:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        db: Database,
        history: HistoryService,
        max_bytes: Callable[[], int],
        runtime: RuntimeService,
        directory: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._clock = clock
        self._db = db
        self._history = history
        self._max_bytes = max_bytes
        self._runtime = runtime
        self._directory = directory

    def _store(self) -> FileStore | None:
        found = self._directory()
        return FileStore(Path(found)) if found else None

    def add(self, actor: Actor, instance_id: int, filename: str, data: bytes) -> Attachment:
        """404 for an instance the actor may not see; 409 once it has ended; 413 too large; 422
        empty, of a refused type, or one too many."""
        with self._db.transaction() as session:
            instance = self._runtime.get(session, actor, instance_id)
            row = self.add_in(session, actor.username, instance, filename, data)
            session.expunge(row)
            return row

    def check(self, filename: str, data: bytes) -> str:
        """The file's type, or 413 / 422 before anything is stored."""
        if len(data) > self._max_bytes():
            raise TooLarge(f"the file is larger than {self._max_bytes() // (1024 * 1024)} MB")
        if not data:
            raise ValidationFailed({"file": "is empty"})
        content_type = content_type_of(clean_filename(filename), data)
        if content_type is None:
            raise ValidationFailed({"file": "must be a PDF, an image (PNG, JPEG, GIF, WebP), an Office document or UTF-8 text"})
        return content_type

    def add_in(self, session: Session, username: str, instance: ProcessInstance, filename: str, data: bytes) -> Attachment:
        """Attach inside the caller's transaction, to an instance the caller has checked the actor
        may see (a form's file field is stored with the action that submits it)."""
        name = clean_filename(filename)
        content_type = self.check(name, data)
        if instance.status not in OPEN:
            raise Conflict(f"the instance has ended ({instance.status}): files are attached to running ones")
        count = session.scalar(select(func.count()).select_from(Attachment).where(Attachment.instance_id == instance.id)) or 0
        if count >= MAX_PER_INSTANCE:
            raise ValidationFailed({"file": f"an instance holds at most {MAX_PER_INSTANCE} files"})
        store = self._store()
        # In the directory before the row commits: a failure after it leaves an orphan file
        # (swept later), never a row without its bytes.
        digest = store.put(data) if store else hashlib.sha256(data).hexdigest()
        row = Attachment(
            instance_id=instance.id,
            filename=name,
            content_type=content_type,
            size=len(data),
            sha256=digest,
            uploaded_by=username,
            uploaded_at=self._clock(),
            data=None if store else data,
        )
        session.add(row)
        session.flush()
        self._history.record(
            session, username, "attach", instance_id=instance.id, data={"attachment_id": row.id, "filename": name, "size": len(data)}
        )
        return row

    @staticmethod
    def of(session: Session, instance_id: int, attachment_id: int) -> Attachment | None:
        """The instance's attachment of this id (without its bytes), or None."""
        return session.scalar(select(Attachment).where(Attachment.id == attachment_id, Attachment.instance_id == instance_id))

    def of_instance(self, session: Session, actor: Actor, instance_id: int) -> list[Attachment]:
        """The instance's files, oldest first, without their bytes (404 as the instance)."""
        return self.listed(session, self._runtime.get(session, actor, instance_id).id)

    @staticmethod
    def listed(session: Session, instance_id: int) -> list[Attachment]:
        """The same for a page that has checked who may see the instance already."""
        return list(session.scalars(select(Attachment).where(Attachment.instance_id == instance_id).order_by(Attachment.id)))

    def get(self, session: Session, actor: Actor, attachment_id: int) -> tuple[Attachment, bytes]:
        """One file and its bytes, to whoever may see its instance; 404 for anyone else."""
        row = session.scalar(select(Attachment).options(undefer(Attachment.data)).where(Attachment.id == attachment_id))
        if row is None:
            raise NotFound(f"no attachment {attachment_id}")
        try:
            self._runtime.get(session, actor, row.instance_id)
        except NotFound:
            raise NotFound(f"no attachment {attachment_id}") from None
        if row.data is not None:
            return row, row.data
        store = self._store()
        if store is None:
            raise Unavailable("the file is kept in the attachment directory, and ATTACHMENT_DIR is no longer set")
        return row, store.get(row.sha256)

    def sweep(self, session: Session) -> int:
        """Remove the directory's files that no attachment names any more (history cleanup runs
        it after its last batch); 0 without a directory."""
        store = self._store()
        if store is None:
            return 0

        def referenced(names: list[str]) -> set[str]:
            return set(session.scalars(select(Attachment.sha256).where(Attachment.sha256.in_(names)).distinct()))

        return store.sweep(referenced)
