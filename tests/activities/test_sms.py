"""The SMS senders: the default logs, the HTTP adapter posts to a provider's API (here a local
server), a permanent refusal is not retried, and the setting picks one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from activities.sms import HttpSmsSender, LogSmsSender, SmsRejected, make_sender


@contextlib.asynccontextmanager
async def provider(status: int) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A fake provider on localhost answering ``status``, keeping what it was sent."""
    received: list[dict[str, Any]] = []

    async def send(request: Request) -> JSONResponse:
        received.append({"json": await request.json(), "auth": request.headers.get("authorization")})
        return JSONResponse({"id": "msg-1"}, status_code=status)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/messages", send, methods=["POST"])]), host="127.0.0.1",
                       port=port, log_level="warning", lifespan="off")
    )  # fmt: skip
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/messages", received
    finally:
        server.should_exit = True
        await serving


async def test_the_http_sender_posts_the_message_with_its_key_and_token() -> None:
    async with provider(202) as (url, received):
        sent = await HttpSmsSender(url, "tok-123", "UTILITY").send(
            "555-0100", "Back on Friday", "RC-1:0004:response"
        )
    assert sent is True
    assert received == [
        {
            "json": {
                "to": "555-0100",
                "from": "UTILITY",
                "body": "Back on Friday",
                "reference": "RC-1:0004:response",
            },
            "auth": "Bearer tok-123",
        }
    ]


async def test_a_provider_refusal_is_permanent_and_an_outage_is_retried() -> None:
    async with provider(400) as (url, _):
        with pytest.raises(SmsRejected, match="refused the message \\(400\\)"):
            await HttpSmsSender(url, "t", "U").send("bad", "x", "k")
    async with provider(503) as (url, _):
        with pytest.raises(Exception, match="503") as failed:
            await HttpSmsSender(url, "t", "U").send("555", "x", "k")
        assert not isinstance(failed.value, SmsRejected)


async def test_the_default_sender_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="connectdesk.sms"):
        assert await LogSmsSender().send("555-0100", "Hello", "k-1") is True
    assert "not sent" in caplog.text and "555-0100" in caplog.text


def test_the_setting_picks_the_sender() -> None:
    assert isinstance(make_sender("log"), LogSmsSender)
    assert isinstance(make_sender("http", url="http://sms.example/send"), HttpSmsSender)
    with pytest.raises(ValueError, match="needs CONNECTDESK_SMS_URL"):
        make_sender("http")
    with pytest.raises(ValueError, match="Unknown SMS sender"):
        make_sender("pigeon")
