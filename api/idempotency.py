"""Every write is safe to retry: the caller's ``Idempotency-Key``.

A client that got a 503, lost a connection or double-clicked sends the same write again with the
same key; it gets the first answer back and nothing is applied twice. Three mechanisms, one rule:

- **create** (``POST /requests``): the key is a unique column of the request row
  (``api.requests.create``);
- **request actions**: the key, scoped to the caller and the action, becomes the Temporal
  **update ID**; Temporal runs an update ID once per workflow run and hands its outcome to every
  retry, whether the first attempt finished, is still in flight or timed out with the worker down;
- **database-only writes** (notes, service orders, contact edits, documents, admin changes): an
  :class:`~db.models.IdempotencyRecord` written in the same transaction as the write, holding the
  answer; its unique ``(user, key)`` settles two retries racing.

A key is the caller's own: another user's identical key is a different key. Reused for a different
operation or body, it is refused with 422 ``idempotency-key-reused`` rather than answered with the
wrong result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Problem
from db.models import IdempotencyRecord

KEY_RULE = (
    "Any unique string (a UUID) of up to 120 characters. A retry with the same key and the same body "
    "answers with the first attempt's result and changes nothing, however often it is sent: retry "
    "every 503 and every lost connection with the same key. The key is yours: reused for a different "
    "operation or body it is refused with 422 `idempotency-key-reused`."
)
REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=120, description=KEY_RULE),
]


def digest(payload: BaseModel | dict[str, Any] | None) -> str:
    """A stable fingerprint of what a caller sent (order of keys does not matter)."""
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else jsonable_encoder(payload)
    if isinstance(data, dict):
        data.pop("password", None)  # never kept, even as part of a hash
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def update_id(action: str, user_id: int, key: str) -> str:
    """The Temporal update ID an action's Idempotency-Key becomes: the caller's own, per action."""
    return f"{action}/{user_id}/{key}"


def key_reused(detail: str, **extra: Any) -> Problem:
    return Problem(422, detail, type_="/problems/idempotency-key-reused", **extra)


class Replayed(Exception):
    """The write was done before under this key: answer what it answered then."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"replayed {status_code}")
        self.status_code = status_code
        self.body = body

    def response(self) -> Response:
        headers = {REPLAYED_HEADER: "true"}
        if self.status_code == 204 or self.body is None:
            return Response(status_code=self.status_code, headers=headers)
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


@dataclass(frozen=True)
class IdempotentWrite:
    """One database-only write under an (optional) Idempotency-Key.

    ``check`` before doing anything (raises :class:`Replayed` when it was done), ``commit`` instead of
    ``session.commit()`` at the end (stores the answer with the write, in one transaction).
    """

    key: str | None
    user_id: int
    operation: str
    digest: str

    @classmethod
    def of(cls, key: str | None, *, user_id: int, operation: str, payload: Any = None) -> IdempotentWrite:
        return cls(key or None, user_id, operation, digest(payload))

    async def _stored(self, session: AsyncSession) -> IdempotencyRecord | None:
        return await session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == self.user_id, IdempotencyRecord.key == self.key
            )
        )

    def _replay(self, record: IdempotencyRecord) -> Replayed:
        if record.operation != self.operation:
            raise key_reused(
                f"This Idempotency-Key was already used for {record.operation}; send a new key for a "
                "new change."
            )
        if record.digest != self.digest:
            raise key_reused(
                "This Idempotency-Key was already used with a different body; send a new key for a "
                "new change."
            )
        return Replayed(record.status_code, record.response)

    async def check(self, session: AsyncSession) -> None:
        """Raise :class:`Replayed` when this write was already done under the key (422 if for
        something else); return when it is new."""
        if self.key and (record := await self._stored(session)) is not None:
            raise self._replay(record)

    async def commit(self, session: AsyncSession, body: Any = None, *, status_code: int = 200) -> None:
        """Commit the write together with its answer under the key. If a concurrent retry with the
        same key committed first, this write is rolled back and its answer raised as :class:`Replayed`."""
        if self.key:
            session.add(
                IdempotencyRecord(
                    user_id=self.user_id, key=self.key, operation=self.operation, digest=self.digest,
                    status_code=status_code, response=None if body is None else jsonable_encoder(body),
                    created_at=datetime.now(UTC),
                )
            )  # fmt: skip
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            if self.key and (record := await self._stored(session)) is not None:
                raise self._replay(record) from None
            raise


def install(app: FastAPI) -> None:
    @app.exception_handler(Replayed)
    async def _replayed(request: Request, exc: Replayed) -> Response:
        return exc.response()
