"""What an uploaded file really is, judged by its content, not by its name.

Each allowed kind is recognised by its signature; the Office Open XML kinds (.docx, .xlsx) are ZIP archives
whose main part is checked by name, and the legacy Office kinds (.doc, .xls) are OLE2 compound files. A file
whose content is not what its extension says (an HTML page named .png, a script named .pdf) is refused.
"""

from __future__ import annotations

import io
import os
import zipfile

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# extension -> (content type served, kind checked)
KINDS = {
    ".pdf": ("application/pdf", "pdf"),
    ".doc": ("application/msword", "ole2"),
    ".xls": ("application/vnd.ms-excel", "ole2"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ".jpg": ("image/jpeg", "jpeg"),
    ".jpeg": ("image/jpeg", "jpeg"),
    ".png": ("image/png", "png"),
}

_OOXML_MAIN_PART = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}


def _zip_has(content: bytes, member: str) -> bool:
    if not content.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return member in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def content_is(kind: str, content: bytes) -> bool:
    if kind == "pdf":
        # Readers accept the header within the first kilobyte.
        return b"%PDF-" in content[:1024]
    if kind == "png":
        return content.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "jpeg":
        return content.startswith(b"\xff\xd8\xff")
    if kind == "ole2":
        return content.startswith(OLE2)
    if kind in _OOXML_MAIN_PART:
        return _zip_has(content, _OOXML_MAIN_PART[kind])
    return False


def checked_content_type(filename: str, content: bytes, allowed: tuple[str, ...] | None = None) -> str | None:
    """The content type to store and serve, or None when the name's extension is not allowed or the content
    is not of that kind."""
    extension = os.path.splitext(filename)[1].lower()
    if extension not in KINDS or (allowed is not None and extension not in allowed):
        return None
    content_type, kind = KINDS[extension]
    return content_type if content_is(kind, content) else None
