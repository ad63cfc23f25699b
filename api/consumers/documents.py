"""Consumer documents: on disk (allowed types, safe names, size-limited storage, and the way back)
and their records (listed, added, reviewed along their approval).

Bytes live under ``settings.documents_dir`` as ``<uuid4 hex>.<extension>``: the stored name is
ours, never the client's, so an upload cannot choose where it lands. The client's file name is
kept, sanitized, only for the download's Content-Disposition.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

import anyio
from fastapi import Request, Response, UploadFile
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.consumers.accounts import not_found
from api.consumers.communications import record_change
from api.errors import Problem
from db.models import Consumer, Document
from domain.consumers.documents import HEAD_BYTES, content_matches
from domain.consumers.types import DocumentStatus

ALLOWED_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "txt": "text/plain",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
"""Extension → the content type we store and serve it with (the client's claim is ignored)."""

CHUNK_BYTES = 64 * 1024
MULTIPART_SLACK_BYTES = 64 * 1024
"""Room for the multipart envelope and the title when refusing an upload by its Content-Length."""

_UNSAFE = re.compile(r"[^\w.\-() ]+")
_SPACES = re.compile(r"\s+")
_MAX_FILENAME = 200


def too_large(max_bytes: int) -> Problem:
    return Problem(
        413,
        f"The file is larger than the {max_bytes:,}-byte limit for documents.",
        type_="/problems/document-too-large",
        max_bytes=max_bytes,
    )


def not_that_type(extension: str) -> Problem:
    return Problem(
        415,
        f"The file's content is not a .{extension} file (its name says it is); upload the real document.",
        type_="/problems/unsupported-document-type",
        allowed_extensions=list(ALLOWED_TYPES),
    )


def extension_of(filename: str) -> str:
    """The lower-cased extension, or 415 when it is not one we accept."""
    suffix = PurePosixPath(sanitize_filename(filename)).suffix.lower().lstrip(".")
    if suffix not in ALLOWED_TYPES:
        allowed = ", ".join(ALLOWED_TYPES)
        raise Problem(
            415,
            f"Files of type '.{suffix}' are not accepted; upload one of: {allowed}."
            if suffix
            else f"The file has no extension; upload one of: {allowed}.",
            type_="/problems/unsupported-document-type",
            allowed_extensions=list(ALLOWED_TYPES),
        )
    return suffix


def sanitize_filename(filename: str) -> str:
    """A file name safe in a Content-Disposition header and on any file system.

    Drops any directory part (``../../etc/passwd`` → ``passwd``), control characters, quotes and
    other punctuation (→ ``_``), leading dots, and trims to 200 characters keeping the extension.
    """
    name = PureWindowsPath(PurePosixPath(filename).name).name  # both / and \ separators
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _SPACES.sub(" ", _UNSAFE.sub("_", name)).strip(" .")
    if len(name) > _MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (
            f"{stem[: _MAX_FILENAME - len(ext) - 1]}.{ext}"
            if dot and len(ext) <= 10
            else name[:_MAX_FILENAME]
        )
    return name or "document"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` fallback and the exact name as RFC 5987 ``filename*``."""
    name = sanitize_filename(filename)
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii") or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """An upload written to disk: the name it is stored under, and what it is."""

    stored_name: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str  # of the content: tells a retried upload from a different file


def stored_path(documents_dir: Path, stored_name: str) -> Path:
    """The file for ``stored_name``; refuses (404) anything that would resolve outside the directory."""
    root = documents_dir.resolve()
    path = (root / stored_name).resolve()
    if path.parent != root:
        raise Problem(404, "This document's file is not available.", type_="/problems/not-found")
    return path


@asynccontextmanager
async def receive(upload: UploadFile, *, documents_dir: Path, max_bytes: int) -> AsyncIterator[StoredFile]:
    """Write ``upload`` under a generated name, at most ``max_bytes`` (413 beyond, 415 for a bad type).

    The file is removed again if the ``async with`` body raises (e.g. the database commit fails),
    so no file outlives a failed upload.
    """
    filename = sanitize_filename(upload.filename or "")
    extension = extension_of(filename)
    await anyio.Path(documents_dir).mkdir(parents=True, exist_ok=True)
    stored_name = f"{uuid.uuid4().hex}.{extension}"
    path = anyio.Path(stored_path(documents_dir, stored_name))
    size = 0
    content_hash = hashlib.sha256()
    try:
        async with await anyio.open_file(path, "xb") as out:
            while chunk := await upload.read(CHUNK_BYTES):
                if size == 0 and not content_matches(extension, chunk[:HEAD_BYTES]):
                    raise not_that_type(extension)
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(max_bytes)
                content_hash.update(chunk)
                await out.write(chunk)
        if size == 0:
            raise Problem(422, "The file is empty.", type_="/problems/validation",
                          errors=[{"field": "file", "message": "empty"}])  # fmt: skip
        yield StoredFile(stored_name, filename, ALLOWED_TYPES[extension], size, content_hash.hexdigest())
    except BaseException:
        with suppress(FileNotFoundError):
            await path.unlink()
        raise


class UploadLimitRoute(APIRoute):
    """Refuses an upload whose declared Content-Length is over the limit before its body is read.

    FastAPI reads a multipart body before any dependency runs, so this check has to sit in the
    route itself; the byte count in :func:`receive` still catches bodies without a length.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            max_bytes: int = request.app.state.settings.documents_max_bytes
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes + MULTIPART_SLACK_BYTES:
                raise too_large(max_bytes)
            return await handler(request)

        return limited


# ---- the documents' records -----------------------------------------------------------------------


_DOCUMENT_STEPS = {DocumentStatus.PROCESSING: 0, DocumentStatus.VERIFIED: 1, DocumentStatus.PUBLISHED: 2}


async def list_documents(*, session: AsyncSession, consumer: Consumer) -> list[Document]:
    """The consumer's documents, newest first."""
    rows = await session.scalars(
        select(Document)
        .where(Document.consumer_id == consumer.id)
        .order_by(Document.uploaded_at.desc(), Document.id.desc())
    )
    return list(rows)


async def add_document(
    *,
    session: AsyncSession,
    consumer: Consumer,
    title: str,
    stored: StoredFile,
    uploaded_by: str,
    now: datetime | None = None,
) -> Document:
    """Record an uploaded file (already on disk as ``stored``); new documents are Processing."""
    row = Document(
        consumer_id=consumer.id,
        title=title,
        filename=stored.filename,
        stored_name=stored.stored_name,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        verification_status=DocumentStatus.PROCESSING,
        uploaded_by=uploaded_by,
        uploaded_at=now or datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    return row


async def get_document(*, session: AsyncSession, consumer: Consumer, document_id: int) -> Document:
    """One of the consumer's documents; 404 for an unknown one or another consumer's."""
    row = await session.scalar(
        select(Document).where(Document.id == document_id, Document.consumer_id == consumer.id)
    )
    if row is None:
        raise not_found(f"Consumer {consumer.account_number} has no document {document_id}.")
    return row


async def review_document(
    *, session: AsyncSession, consumer: Consumer, document_id: int, status: DocumentStatus, actor: str
) -> Document:
    """Move a document along its approval (Processing → Verified → Published; Verified may be
    skipped), recording who did in the consumer's communications. 409 for a step back."""
    row = await get_document(session=session, consumer=consumer, document_id=document_id)
    current = DocumentStatus(row.verification_status)
    if _DOCUMENT_STEPS[status] < _DOCUMENT_STEPS[current]:
        raise Problem(
            409,
            f"Document {row.id} is {current.value}; approval only moves forward "
            "(Processing → Verified → Published).",
            type_="/problems/invalid-transition",
            status_now=current.value,
        )
    if status is not current:
        row.verification_status = status
        record_change(
            session,
            consumer,
            actor,
            f"Document “{row.title}” {status.value.lower()}",
            f"{current.value} → {status.value}",
        )
        await session.flush()
    return row
