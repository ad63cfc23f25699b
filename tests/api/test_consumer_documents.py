"""Consumer documents over the real app: upload (type allow-list, size limit, safe stored names),
list with verification status, and download with a sanitized Content-Disposition."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.consumers.documents import sanitize_filename
from db.models import Consumer, Document
from tests import factories
from tests.api.conftest import ApiFactory, auth

PROBLEM = "application/problem+json"
BASE = "/api/v1/consumers"
MAX_BYTES = 2_000
PDF = b"%PDF-1.4\n" + b"x" * 500


@pytest.fixture
def documents_dir(tmp_path: Path) -> Path:
    return tmp_path / "documents"


@pytest.fixture
async def client(
    api_client_for: ApiFactory, db_url: str, documents_dir: Path
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client_for(
        database_url=db_url, documents_dir=documents_dir, documents_max_bytes=MAX_BYTES
    ) as client:
        yield client


@pytest.fixture
def csr(staff: dict[str, Any]) -> dict[str, str]:
    return auth(staff["csr"])


@pytest.fixture
async def consumer(sessionmaker: async_sessionmaker[AsyncSession]) -> Consumer:
    async with sessionmaker() as session:
        row = await factories.consumer(session, account_number="WU-10001")
        await session.commit()
        return row


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    return body


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    filename: str,
    content: bytes = PDF,
    *,
    title: str = "Service agreement",
    key: str = "WU-10001",
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    return await client.post(
        f"{BASE}/{key}/documents",
        data={"title": title},
        files={"file": (filename, content, content_type)},
        headers=headers,
    )


async def _rows(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(Document)) or 0


def _files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.exists() else []


async def test_upload_stores_the_file_under_a_generated_name_as_processing(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Consumer, documents_dir: Path
) -> None:
    response = await upload(client, csr, "Service Agreement 2026.PDF", content_type="text/html")

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["title"], body["filename"]) == ("Service agreement", "Service Agreement 2026.PDF")
    assert body["content_type"] == "application/pdf"  # from the extension, not the client's claim
    assert (body["size_bytes"], body["verification_status"], body["uploaded_by"]) == (
        len(PDF),
        "Processing",
        "csr",
    )
    [stored] = _files(documents_dir)
    assert stored.suffix == ".pdf" and len(stored.stem) == 32 and int(stored.stem, 16) >= 0  # uuid4 hex
    assert stored.read_bytes() == PDF


async def test_list_shows_documents_newest_first_with_verification_status(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Consumer
) -> None:
    await upload(client, csr, "a.txt", b"first", title="First")
    await upload(client, csr, "b.png", b"\x89PNG\r\n\x1a\n", title="Second")

    response = await client.get(f"{BASE}/{consumer.id}/documents", headers=csr)

    assert response.status_code == 200, response.text
    assert [(d["title"], d["content_type"], d["verification_status"]) for d in response.json()] == [
        ("Second", "image/png", "Processing"),
        ("First", "text/plain", "Processing"),
    ]


async def test_download_streams_the_file_back_with_its_sanitized_name(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Consumer
) -> None:
    created = (await upload(client, csr, "../../etc/bill (final);v2.pdf")).json()

    response = await client.get(f"{BASE}/WU-10001/documents/{created['id']}/download", headers=csr)

    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"bill (final)_v2.pdf\"; filename*=UTF-8''bill%20%28final%29_v2.pdf"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert created["filename"] == "bill (final)_v2.pdf"


async def test_download_of_a_non_ascii_name_has_an_ascii_fallback_and_rfc_5987_name(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Consumer
) -> None:
    created = (await upload(client, csr, "Zählerstand März.jpg", b"\xff\xd8\xff")).json()

    response = await client.get(f"{BASE}/{consumer.id}/documents/{created['id']}/download", headers=csr)

    assert response.headers["content-type"] == "image/jpeg"
    assert (
        response.headers["content-disposition"]
        == "attachment; filename=\"Zahlerstand Marz.jpg\"; filename*=UTF-8''Z%C3%A4hlerstand%20M%C3%A4rz.jpg"
    )


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\me\\scan 01.png", "scan 01.png"),
        ("../../../etc/passwd.txt", "passwd.txt"),
        ("..hidden.txt", "hidden.txt"),
        ("tab\tand\nnewline.txt", "tabandnewline.txt"),
        ('quote"semi;colon.docx', "quote_semi_colon.docx"),
        ("", "document"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_sanitize_filename(given: str, kept: str) -> None:
    assert sanitize_filename(given) == kept


@pytest.mark.parametrize("filename", ["setup.exe", "archive.tar.gz", "noextension", "page.html", "pdf"])
async def test_upload_of_a_type_not_allowed_is_415_and_stores_nothing(
    client: httpx.AsyncClient,
    csr: dict[str, str],
    consumer: Consumer,
    documents_dir: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
    filename: str,
) -> None:
    response = await upload(client, csr, filename, b"MZ")

    body = assert_problem(response, 415)
    assert body["type"] == "/problems/unsupported-document-type"
    assert body["allowed_extensions"] == ["pdf", "png", "jpg", "jpeg", "txt", "docx"]
    assert _files(documents_dir) == [] and await _rows(sessionmaker) == 0


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("invoice.pdf", b"\x89PNG\r\n\x1a\n" + b"x" * 100),  # a picture renamed .pdf
        ("photo.png", b"MZ\x90\x00" + b"x" * 100),  # a program renamed .png
        ("notes.txt", b"\x00\x01\x02binary"),
        ("letter.docx", PDF),
    ],
)
async def test_upload_whose_content_is_not_its_type_is_415_and_stores_nothing(
    client: httpx.AsyncClient,
    csr: dict[str, str],
    consumer: Consumer,
    documents_dir: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
    filename: str,
    content: bytes,
) -> None:
    response = await upload(client, csr, filename, content)

    body = assert_problem(response, 415)
    assert body["type"] == "/problems/unsupported-document-type"
    assert "content is not" in body["detail"]
    assert _files(documents_dir) == [] and await _rows(sessionmaker) == 0


async def test_upload_over_the_size_limit_is_413_and_leaves_nothing_behind(
    client: httpx.AsyncClient,
    csr: dict[str, str],
    consumer: Consumer,
    documents_dir: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    at_limit = await upload(client, csr, "ok.txt", b"a" * MAX_BYTES)
    over = await upload(client, csr, "big.txt", b"a" * (MAX_BYTES + 1))

    assert at_limit.status_code == 201, at_limit.text
    body = assert_problem(over, 413)
    assert body["type"] == "/problems/document-too-large" and body["max_bytes"] == MAX_BYTES
    assert "2,000-byte limit" in body["detail"]
    assert len(_files(documents_dir)) == 1 and await _rows(sessionmaker) == 1


async def test_upload_declaring_a_huge_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Consumer, documents_dir: Path
) -> None:
    response = await upload(client, csr, "huge.pdf", b"a" * (MAX_BYTES + 70 * 1024))

    assert_problem(response, 413)
    assert _files(documents_dir) == []


@pytest.mark.parametrize(
    ("data", "files"),
    [
        ({}, {"file": ("a.pdf", PDF, "application/pdf")}),  # no title
        ({"title": "   "}, {"file": ("a.pdf", PDF, "application/pdf")}),
        ({"title": "x" * 201}, {"file": ("a.pdf", PDF, "application/pdf")}),
        ({"title": "No file"}, None),
    ],
)
async def test_upload_with_missing_or_bad_fields_is_422(
    client: httpx.AsyncClient,
    csr: dict[str, str],
    consumer: Consumer,
    data: dict[str, str],
    files: dict[str, Any] | None,
) -> None:
    response = await client.post(f"{BASE}/{consumer.id}/documents", data=data, files=files, headers=csr)

    assert assert_problem(response, 422)["errors"]


async def test_another_consumers_or_an_unknown_document_is_404(
    client: httpx.AsyncClient,
    csr: dict[str, str],
    consumer: Consumer,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        other = await factories.consumer(session)
        await session.commit()
    created = (await upload(client, csr, "mine.pdf")).json()

    assert_problem(
        await client.get(f"{BASE}/{other.id}/documents/{created['id']}/download", headers=csr), 404
    )
    assert_problem(await client.get(f"{BASE}/{consumer.id}/documents/999999/download", headers=csr), 404)
    assert (await client.get(f"{BASE}/{other.id}/documents", headers=csr)).json() == []


async def test_a_document_whose_file_is_gone_is_404(
    client: httpx.AsyncClient, csr: dict[str, str], consumer: Consumer, documents_dir: Path
) -> None:
    created = (await upload(client, csr, "gone.pdf")).json()
    for path in _files(documents_dir):
        path.unlink()

    body = assert_problem(
        await client.get(f"{BASE}/{consumer.id}/documents/{created['id']}/download", headers=csr), 404
    )
    assert "missing from storage" in body["detail"]


async def test_documents_need_a_signed_in_user(
    client: httpx.AsyncClient, consumer: Consumer, documents_dir: Path
) -> None:
    assert_problem(await upload(client, {}, "a.pdf"), 401)
    assert_problem(await client.get(f"{BASE}/{consumer.id}/documents"), 401)
    assert_problem(await client.get(f"{BASE}/{consumer.id}/documents/1/download"), 401)
    assert _files(documents_dir) == []


async def test_supervisors_approve_documents_forward_only_and_it_is_recorded(
    client: httpx.AsyncClient, csr: dict[str, str], staff: dict[str, Any], consumer: Consumer
) -> None:
    document = (await upload(client, csr, "agreement.pdf")).json()
    url = f"{BASE}/{consumer.id}/documents/{document['id']}"
    supervisor = auth(staff["supervisor"])

    refused = await client.patch(url, json={"status": "Verified"}, headers=csr)
    assert "needs the supervisor or admin role" in assert_problem(refused, 403)["detail"]
    verified = await client.patch(url, json={"status": "Verified"}, headers=supervisor)
    assert verified.status_code == 200 and verified.json()["verification_status"] == "Verified"
    again = await client.patch(url, json={"status": "Verified"}, headers=supervisor)  # no-op, not recorded
    assert again.status_code == 200
    published = await client.patch(url, json={"status": "Published"}, headers=auth(staff["admin"]))
    assert published.json()["verification_status"] == "Published"
    back = await client.patch(url, json={"status": "Verified"}, headers=supervisor)
    assert assert_problem(back, 409)["status_now"] == "Published"
    assert_problem(await client.patch(url, json={"status": "Processing"}, headers=supervisor), 422)
    assert_problem(await client.patch(f"{BASE}/{consumer.id}/documents/999", json={"status": "Verified"},
                                      headers=supervisor), 404)  # fmt: skip

    listed = (await client.get(f"{BASE}/{consumer.id}/documents", headers=csr)).json()
    assert [d["verification_status"] for d in listed] == ["Published"]
    log = (
        await client.get(f"{BASE}/{consumer.id}/communications", params={"channel": "system"}, headers=csr)
    ).json()
    assert [(c["author"], c["body"]) for c in reversed(log["items"])] == [
        ("supervisor", "Processing → Verified"), ("admin", "Verified → Published"),
    ]  # fmt: skip
