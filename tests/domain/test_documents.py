"""An upload's content must be what its name claims: signatures for binary types, clean UTF-8 for text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.consumers.documents import SIGNATURES, content_matches

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
DOCX = b"PK\x03\x04\x14\x00\x06\x00"


@pytest.mark.parametrize(
    ("extension", "head", "ok"),
    [
        ("pdf", PDF, True),
        ("png", PNG, True),
        ("jpg", JPEG, True),
        ("jpeg", JPEG, True),
        ("docx", DOCX, True),
        ("txt", "Meter 4411 read on 3 March — 1 204 kWh\r\n".encode(), True),
        ("pdf", PNG, False),  # a picture renamed .pdf
        ("png", b"MZ\x90\x00\x03", False),  # a Windows executable renamed .png
        ("docx", PDF, False),
        ("jpg", b"<html><script>alert(1)</script>", False),
        ("txt", b"MZ\x90\x00\x03\x00\x00\x00", False),  # binary is not text
        ("txt", b"\xff\xfe\x00\x00", False),  # not UTF-8
        ("pdf", b"", False),
        ("exe", b"MZ", False),  # no signature known: never content of an accepted type
    ],
)
def test_content_matches_its_claimed_type(extension: str, head: bytes, ok: bool) -> None:
    assert content_matches(extension, head) is ok


def test_text_cut_inside_a_multibyte_character_is_still_text() -> None:
    head = ("é" * 10).encode()[:-1]  # the last character's second byte is beyond the head
    assert content_matches("txt", head)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1))
def test_any_printable_utf8_text_is_text(text: str) -> None:
    assert content_matches("txt", text.encode())


@given(st.sampled_from(sorted(SIGNATURES)), st.binary(max_size=64))
def test_a_binary_type_needs_its_signature(extension: str, tail: bytes) -> None:
    assert content_matches(extension, SIGNATURES[extension][0] + tail)
    assert not content_matches(extension, b"\x00" + tail)
