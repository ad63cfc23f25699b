"""Outgoing e-mail over SMTP (stdlib smtplib, run in a thread so the event loop never blocks)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage


class Mailer:
    def __init__(self, host: str, port: int, sender: str) -> None:
        self.host = host
        self.port = port
        self.sender = sender

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def _send(self, to: list[str], subject: str, body: str, message_id: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        # A stable Message-ID lets a receiving system drop the duplicate of a retried send.
        # (the key's colons would end the header's local part early: RC-2026-000001:0003:response)
        message["Message-ID"] = f"<{message_id.replace(':', '.')}@connectdesk>"
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(message)

    async def send(self, to: list[str], subject: str, body: str, message_id: str) -> bool:
        """Send one message; returns False (and sends nothing) when SMTP is not configured."""
        if not self.enabled:
            return False
        await asyncio.to_thread(self._send, to, subject, body, message_id)
        return True
