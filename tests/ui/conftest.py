"""Browser-test fixtures: the real app served by uvicorn over a seeded database, a Temporal dev
server and a worker, driven by Debian's chromium through Playwright (never a browser download)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, Request, async_playwright
from sqlalchemy import select

from api.auth.service import SESSION_COOKIE, issue_token
from api.main import create_app
from db.models import Consumer, Meter, MeterAssignment, Plan, User
from db.seed import DEMO_USERS, seed
from db.session import make_engine
from domain.consumers.types import ConsumerStatus
from domain.passwords import hash_password
from domain.users import Role
from settings import Settings
from tests import factories
from worker import build_activities, build_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "ui"
WIDTHS = ((1280, 900), (390, 844))
PASSWORDS = {u.username: u.password for u in DEMO_USERS}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Site:
    """The running UI and handles on its data."""

    base_url: str
    settings: Settings
    sessionmaker: Any
    users: dict[str, User]
    reconnectable: Consumer  # Inactive, balance within the limit, a plan for its category
    disconnectable: Consumer  # Active, with a meter in service
    spare: list[Consumer] = field(default_factory=list)  # more Active consumers with meters

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def create_request(self, consumer: Consumer, reason: str, role: str = "csr") -> str:
        """A request made through the JSON API (when a test is about what happens after creation)."""
        token = issue_token(self.users[role], self.settings)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            response = await client.post(
                "/api/v1/requests",
                json={"consumer_id": consumer.id, "reason": reason},
                headers={"Authorization": f"Bearer {token}"},
            )
        assert response.status_code == 201, response.text
        return str(response.json()["request_id"])

    async def api(self, method: str, path: str, role: str = "csr", **kwargs: Any) -> httpx.Response:
        token = issue_token(self.users[role], self.settings)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            return await client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


async def _pick_consumers(sessionmaker: Any, settings: Settings) -> tuple[Consumer, list[Consumer]]:
    async with sessionmaker() as session:
        plan_groups = {(p.category, p.sub_category) for p in (await session.scalars(select(Plan))).all()}
        inactive = (
            await session.scalars(
                select(Consumer)
                .where(Consumer.status == ConsumerStatus.INACTIVE, Consumer.locked_by_request.is_(None))
                .order_by(Consumer.id)
            )
        ).all()
        reconnectable = next(
            c
            for c in inactive
            if float(c.balance) <= settings.reconnection_max_balance
            and (c.category, c.sub_category) in plan_groups
        )
        active = (
            await session.scalars(
                select(Consumer)
                .join(MeterAssignment, MeterAssignment.consumer_id == Consumer.id)
                .join(Meter, Meter.id == MeterAssignment.meter_id)
                .where(
                    Consumer.status == ConsumerStatus.ACTIVE,
                    MeterAssignment.unassigned_on.is_(None),
                    Consumer.locked_by_request.is_(None),
                )
                .order_by(Consumer.id)
                .distinct()
            )
        ).all()
    return reconnectable, list(active)


@pytest.fixture
async def site(
    db_url: str, sessionmaker: Any, dev_env: Any, task_queue: str, tmp_path: Path
) -> AsyncIterator[Site]:
    engine = make_engine(db_url)
    try:
        await seed(engine, consumers=40, today=datetime.now(UTC).date())
    finally:
        await engine.dispose()
    settings = Settings(
        database_url=db_url,
        temporal_address=dev_env.client.service_client.config.target_host,
        temporal_task_queue=task_queue,
        workflow_id_prefix=f"{task_queue}/",  # one dev server serves every test: keep IDs apart
        var_dir=tmp_path,
        documents_dir=tmp_path / "documents",
    )
    reconnectable, active = await _pick_consumers(sessionmaker, settings)
    async with sessionmaker() as session:
        users = {u.username: u for u in (await session.scalars(select(User))).all()}

    port = _free_port()
    # a page's live-event stream never ends by itself: stop waiting for it after a second
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on",
        timeout_graceful_shutdown=1,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        async with build_worker(
            dev_env.client, settings, build_activities(settings, sessionmaker), task_queue=task_queue
        ):
            yield Site(
                base_url=f"http://127.0.0.1:{port}",
                settings=settings,
                sessionmaker=sessionmaker,
                users=users,
                reconnectable=reconnectable,
                disconnectable=active[0],
                spare=active[1:],
            )
    finally:
        server.should_exit = True
        await serving


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser, site: Site) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=site.base_url, viewport={"width": WIDTHS[0][0], "height": WIDTHS[0][1]}
    )
    context.set_default_timeout(15_000)
    tab = await context.new_page()
    yield tab
    await context.close()


async def sign_in(page: Page, username: str = "csr") -> None:
    await page.goto("/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORDS[username])
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)


async def assert_leaving_search_sends_nothing(
    page: Page, box: str, filter_label: str, option: str, path: str, param: str
) -> None:
    """Leaving the search box fires `change`; a search sent then raced a click on a result, and its
    pushed URL cancelled the click's navigation (seen in CI). Only the filter lists search on change:
    after leaving the box, choosing ``option`` in ``filter_label`` sends exactly one search. Call it
    once the box's own search has answered (its URL pushed), or that search may land in the count.

    A live refresh (a request changed: the list refetches with the filters shown) is no search; htmx
    names the element that sent it (``HX-Trigger: live-refresh``), and one can arrive mid-test."""
    searches: list[str] = []
    # Longer than the box's 300 ms delay: a search typed before this call has been sent before the
    # count starts (one landed inside it in a CI run, with its URL already shown).
    await page.wait_for_timeout(400)

    def search(request: Request) -> None:
        if f"{path}?" in request.url and request.headers.get("hx-trigger") != "live-refresh":
            searches.append(request.url)

    page.on("request", search)
    await page.get_by_label(box).blur()
    async with page.expect_response(lambda r: param in r.url):
        await page.get_by_label(filter_label).select_option(option)
    assert len(searches) == 1 and param in searches[0], searches


async def snap(page: Page, name: str) -> None:
    """Screenshot the page at 1280 px and at 390 px wide, for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in WIDTHS:
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(150)
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        scroll_width = await page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{name} is {scroll_width} px wide at {width} px: it scrolls sideways"
    await page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})


# ---- plain HTTP (no browser, no Temporal): the app over ASGI with one user per role -------------------


@pytest.fixture
async def users(sessionmaker: Any) -> dict[str, User]:
    password_hash = hash_password("pass-word")
    made = {}
    async with sessionmaker() as session:
        for role in Role:
            made[role.value] = User(
                username=role.value, full_name=f"{role.value.title()} User", email=f"{role.value}@x.example",
                role=role, password_hash=password_hash,
            )  # fmt: skip
            session.add(made[role.value])
        await factories.utilities(session)
        await factories.consumer(session, first_name="Ada", last_name="Lovelace")
        await session.commit()
    return made


@pytest.fixture
async def client(db_url: str, users: dict[str, User]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=db_url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def signed_in(user: User) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={issue_token(user, Settings())}"}
