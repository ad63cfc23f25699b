"""Outgoing SMS through a pluggable sender (``CONNECTDESK_SMS_SENDER``).

``log`` (the default) writes each message to the worker's log and sends nothing: the dev stack and
the tests need no provider. ``http`` posts it to an SMS provider's HTTP API (``HttpSmsSender``).
Another provider is one more class with the same ``send`` and one more name in :func:`make_sender`.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

log = logging.getLogger("connectdesk.sms")


class SmsRejected(Exception):
    """The provider refused the message for good (a bad number, a blocked sender): do not retry."""


class SmsSender(Protocol):
    async def send(self, to: str, body: str, key: str) -> bool:
        """Send ``body`` to ``to``; ``key`` is stable across retries of the same message.

        True once the provider (or the log) took it; raises :class:`SmsRejected` on a permanent
        refusal, any other exception for a failure worth retrying."""
        ...


class LogSmsSender:
    """Writes the message to the log instead of sending it (the default: no provider needed)."""

    async def send(self, to: str, body: str, key: str) -> bool:
        log.info("sms (not sent: CONNECTDESK_SMS_SENDER=log) to=%s key=%s: %s", to, key, body)
        return True


class HttpSmsSender:
    """A provider's JSON API: ``POST <url>`` with ``{"to", "from", "body", "reference"}`` and a bearer
    token. 2xx: taken; 4xx but 408/429: refused for good (:class:`SmsRejected`); else retried.
    ``reference`` is the idempotency key, so a provider that deduplicates sends a retry once."""

    def __init__(self, url: str, token: str, sender: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout

    async def send(self, to: str, body: str, key: str) -> bool:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(
                self.url,
                json={"to": to, "from": self.sender, "body": body, "reference": key},
                headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": key},
            )
        if response.is_success:
            return True
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            raise SmsRejected(
                f"The SMS provider refused the message ({response.status_code}): {response.text[:200]}"
            )
        response.raise_for_status()
        return False  # a 1xx/3xx: not taken


SENDERS = ("log", "http")


def make_sender(name: str, *, url: str = "", token: str = "", sender: str = "") -> SmsSender:
    """The sender a setting names; ValueError for an unknown name or ``http`` without a URL."""
    if name == "log":
        return LogSmsSender()
    if name == "http":
        if not url:
            raise ValueError("CONNECTDESK_SMS_SENDER=http needs CONNECTDESK_SMS_URL")
        return HttpSmsSender(url, token, sender)
    raise ValueError(f"Unknown SMS sender {name!r}: one of {', '.join(SENDERS)}")
