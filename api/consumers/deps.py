"""``CurrentConsumer``: the consumer named in the path by ID or account number (404 when missing)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from api.auth.deps import CsrUser
from api.consumers import accounts
from api.deps import SessionDep
from db.models import Consumer


async def get_current_consumer(
    session: SessionDep,
    _user: CsrUser,  # signed in first: an anonymous caller gets 401, never a 404 that leaks existence
    id_or_account_number: Annotated[
        str, Path(description="The consumer's ID or account number", examples=["WU-10001"], max_length=40)
    ],
) -> Consumer:
    return await accounts.get_consumer(session=session, key=id_or_account_number)


CurrentConsumer = Annotated[Consumer, Depends(get_current_consumer)]
