"""What an uploaded document's content must look like for the type its name claims.

A name and a declared content type are the client's word; the first bytes of the file are not.
Each accepted type is recognised by its signature ("magic bytes"); plain text, which has none, must
decode as UTF-8 with no NUL or other binary control characters.
"""

from __future__ import annotations

# Office Open XML (docx) is a ZIP archive whose first entry is [Content_Types].xml or a folder.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "docx": (b"PK\x03\x04",),
}
HEAD_BYTES = 8192  # what the check reads of a file
_TEXT_CONTROLS = {b for b in range(32) if b not in (9, 10, 12, 13)} | {127}


def content_matches(extension: str, head: bytes) -> bool:
    """Whether ``head`` (the file's first bytes, up to ``HEAD_BYTES``) is content of ``extension``.

    Refuses an empty file, a file whose signature is another type's, and "text" with binary bytes.
    """
    if not head:
        return False
    if extension == "txt":
        return _looks_like_text(head)
    signatures = SIGNATURES.get(extension)
    return bool(signatures) and head.startswith(signatures or ())


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the head is still text
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    return not any(ord(ch) in _TEXT_CONTROLS for ch in text)
