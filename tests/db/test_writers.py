"""SQLite's writers take turns across processes (db.writers): in order within a process, one at a
time across them through a file lock the kernel drops with its holder, and a turn that does not
come in time fails as SQLite's own wait would ("database is locked" → 503 / a retried activity)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import sys
import textwrap
from pathlib import Path
from time import monotonic

import pytest
from sqlalchemy.exc import OperationalError

from db import writers
from db.session import make_engine

HOLD = textwrap.dedent(
    """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(60)
    """
)


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    return str(tmp_path / "turns.db")


async def test_a_process_s_writers_take_turns_in_the_order_they_asked(sqlite_file: str) -> None:
    turns = writers.Turns(sqlite_file, timeout=5)
    order: list[int] = []
    inside = 0

    async def writer(n: int) -> None:
        nonlocal inside
        async with turns.turn():
            inside += 1
            assert inside == 1  # one at a time
            order.append(n)
            await asyncio.sleep(0.002)
            inside -= 1

    await asyncio.gather(*(writer(n) for n in range(20)))
    assert order == list(range(20))


async def test_two_processes_queues_meet_at_the_file_lock(sqlite_file: str) -> None:
    # Two queues on one database stand for two processes: their writers never overlap.
    first, second = writers.Turns(sqlite_file, timeout=5), writers.Turns(sqlite_file, timeout=5)
    inside: list[str] = []
    overlaps = 0

    async def writer(turns: writers.Turns, name: str) -> None:
        nonlocal overlaps
        async with turns.turn():
            overlaps += bool(inside)
            inside.append(name)
            await asyncio.sleep(0.003)
            inside.remove(name)

    await asyncio.gather(*(writer(first if n % 2 else second, f"w{n}") for n in range(20)))
    assert overlaps == 0


async def test_a_turn_not_come_in_time_fails_as_a_locked_database(sqlite_file: str) -> None:
    fd = os.open(f"{sqlite_file}-writer", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process's writer, holding on
    try:
        began = monotonic()
        with pytest.raises(OperationalError, match="database is locked"):
            async with writers.Turns(sqlite_file, timeout=0.2).turn():
                pytest.fail("the turn came while another held it")
        assert 0.2 <= monotonic() - began < 2
    finally:
        os.close(fd)
    async with writers.Turns(sqlite_file, timeout=0.2).turn():
        pass  # and comes once it is let go


async def test_a_writer_killed_holding_the_turn_does_not_keep_it(sqlite_file: str) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD, f"{sqlite_file}-writer", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and (await holder.stdout.readline()).strip() == b"held"
        with pytest.raises(OperationalError):
            async with writers.Turns(sqlite_file, timeout=0.1).turn():
                pass
        holder.send_signal(signal.SIGKILL)
        await asyncio.wait_for(holder.wait(), 10)
        async with writers.Turns(sqlite_file, timeout=2).turn():
            pass  # the kernel dropped the dead writer's lock
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()


async def test_engines_get_turns_on_sqlite_files_only(sqlite_file: str) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{sqlite_file}")
    memory = make_engine("sqlite+aiosqlite://")
    try:
        async with writers.turn(engine):  # the file's turn: no other process gets it meanwhile
            with pytest.raises(OperationalError):
                async with writers.Turns(sqlite_file, timeout=0.05).turn():
                    pass
        async with writers.turn(memory):  # one process only: its queue, no file
            pass
        async with writers.turn(None):  # no bind (PostgreSQL engines are never registered)
            pass
    finally:
        await engine.dispose()
        await memory.dispose()
