"""Route by role by tenant: the console shows, and lets act on, only the user's tenants' chats."""

import shutil
from datetime import UTC, date, datetime, time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.history.accounts import Accounts
from bot.history.log import Entry
from bot.history.reports import Reports
from bot.history.tenancy import ALL, Scope
from bot.listening.announcements import Announcement
from bot.settings import PROJECT_DIR
from tests.console.conftest import PASSWORD, Web, csrf_of, log_in

HOME, OTHER = "voorbeeld", "oosterdorp"
CHATS = {HOME: "tg:701", OTHER: "tg:702"}
# name: role and tenants; sam and sue (conftest) serve the whole collaboration.
PEOPLE = {"olga": ("staff", OTHER), "vera": ("staff", HOME), "sam": ("staff", ALL),
          "otto": ("supervisor", OTHER), "sue": ("supervisor", ALL), "anna": ("admin", OTHER)}


@pytest.fixture
def environment(environment: dict[str, str]) -> dict[str, str]:
    """Voorbeeld and Oosterdorp, of one collaboration (whose facts name its water board)."""
    for key in (OTHER, "samenwerking-voorbeeld", "waterschap-voorbeeld"):
        shutil.copy(PROJECT_DIR / "intents" / "facts" / f"{key}.yml",
                    Path(environment["BALIE_FACTS_DIR"]))
    return {**environment, "BALIE_TENANTS": f"{HOME},{OTHER}"}


async def seed(web: Web) -> dict[str, int]:
    """Two chats of two tenants, each logged, waiting in the queue and with a task."""
    accounts = Accounts(web.balie.history, 1, 64)
    for name, (role, tenants) in PEOPLE.items():
        if await accounts.named(name) is None:
            await accounts.add(name, role, PASSWORD, "test", Scope.of(tenants))
    tasks = {}
    for tenant, chat in CHATS.items():
        await web.balie.history.record([
            Entry(chat, "telegram", "in", "text", f"vraag van {tenant}", tenant=tenant)])
        await web.services.desk.enqueue(chat, "live", "nl", None, tenant)
        tasks[tenant] = await web.services.cases.task(chat, "nl", None, f"bel {tenant}",
                                                      kind="message", tenant=tenant)
    return tasks


def _at(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def sees(name: str, tenant: str) -> bool:
    return Scope.of(PEOPLE[name][1]).allows(tenant)


@pytest.mark.parametrize("name", sorted(name for name, (role, _) in PEOPLE.items()
                                         if role != "admin"))
async def test_a_user_reaches_only_their_tenants_chats(web: Web, name: str) -> None:
    tasks = await seed(web)
    role = PEOPLE[name][0]
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
        token = await log_in(client, name)
        csrf = {"X-CSRF-Token": token, "Accept": "application/json"}
        queue = (await client.get("/staff/queue.json")).json()
        page = (await client.get("/staff")).text
        stream = (await client.get("/staff/events")).text
        # Only a user of both municipalities is told which one a chat is for.
        assert all(("municipality" in row) is (name in {"sam", "sue"})
                   for row in queue["waiting"])
        for tenant, chat in CHATS.items():
            allowed = sees(name, tenant)
            found = 200 if allowed else 404
            assert (chat in {row["chat"] for row in queue["waiting"]}) is allowed, tenant
            assert (tasks[tenant] in queue["tasks"]) is allowed
            assert (f"bel {tenant}" in page) is allowed and (chat in stream) is allowed
            for path in (f"/staff/chats/{chat}", f"/staff/chats/{chat}/messages.json",
                         f"/staff/events?chat={chat}"):
                assert (await client.get(path)).status_code == found, path
            for action in ("reply", "notes"):
                response = await client.post(f"/staff/chats/{chat}/{action}", headers=csrf,
                                             data={"text": "hallo"})
                assert (response.status_code == 404) is not allowed, action
            claimed = await client.post(f"/staff/chats/{chat}/claim", headers=csrf)
            assert claimed.status_code == found
            assert (claimed.status_code == 200 and claimed.json()["won"]) is allowed
            done = await client.post(f"/staff/tasks/{tasks[tenant]}/done", headers=csrf)
            assert (done.status_code == 404) is not allowed
            if role != "supervisor":
                continue
            transcript = await client.get(f"/supervisor/chats/{chat}")
            assert transcript.status_code == found
            download = await client.get(f"/supervisor/chats/{chat}/transcript.csv")
            assert download.status_code == found
            assert (chat in (await client.get("/supervisor/log?text=vraag")).text) is allowed
            assert (chat in (await client.get("/supervisor/log.csv")).text) is allowed
        for tenant, chat in CHATS.items():  # claimed by this user, or still waiting
            ticket = await web.services.desk.ticket(chat)
            assert ticket is not None
            assert ticket.mode == ("with_staff" if sees(name, tenant) else "queued")


async def test_a_place_in_the_queue_counts_only_the_own_tenants_chats(web: Web) -> None:
    desk = web.services.desk
    assert await desk.enqueue("tg:801", "live", "nl", None, OTHER) == 1
    assert await desk.enqueue("tg:802", "live", "nl", None, HOME) == 1
    assert await desk.enqueue("tg:803", "live", "nl", None, OTHER) == 2
    assert [t.chat_id for t in await desk.queue(Scope.of(HOME))] == ["tg:802"]


async def test_a_supervisor_of_one_tenant_sees_only_its_announcements_and_polls(
        web: Web) -> None:
    await seed(web)
    newsroom, polls = web.services.newsroom, web.services.polls
    start, end = date(2026, 1, 1), date(2099, 1, 1)
    theirs = await newsroom.announce("Oost", "East", _at(start), _at(end), None, True, "sue",
                                     OTHER)
    ours = await newsroom.announce("Thuis", "Home", _at(start), _at(end), None, True, "sue",
                                   HOME)
    poll = await polls.create("Oost?", "East?", None, tenant=OTHER)
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
        await log_in(client, "otto")
        page = (await client.get("/supervisor/announcements")).text
        assert "Oost" in page and "Thuis" not in page
        assert (await client.get(f"/supervisor/announcements/{ours.id}")).status_code == 404
        assert (await client.get(f"/supervisor/announcements/{theirs.id}")).status_code == 200
        assert (await client.get(f"/supervisor/polls/{poll.id}")).status_code == 200
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
        await log_in(client, "vera")  # staff: no supervisor pages at all
        assert (await client.get(f"/supervisor/polls/{poll.id}")).status_code == 403
    # Citizens see their tenant's announcements and the collaboration's.
    await newsroom.announce("Iedereen", "Everyone", _at(start), _at(end), None, True, "sue")
    now = _at(date(2050, 1, 1))
    assert await newsroom.for_answer("greet", "nl", now, OTHER) == ["Oost", "Iedereen"]
    assert await newsroom.for_answer("greet", "nl", now, HOME) == ["Thuis", "Iedereen"]


async def test_the_collaboration_dashboard_compares_tenants(web: Web) -> None:
    await seed(web)
    await web.balie.history.record([
        Entry(CHATS[OTHER], "telegram", "in", "text", "blorp", tenant=OTHER),
        Entry(CHATS[OTHER], "telegram", "out", "fallback", "Sorry", tenant=OTHER)])
    reports = Reports(web.balie.history, 0.5, web.services.town.timezone)
    home, other = await reports.compare(7, [HOME, OTHER])
    assert (home.tenant, home.questions, home.handoffs, home.fallback_rate) == (HOME, 1, 1, 0)
    assert (other.tenant, other.questions, other.handoffs, other.fallback_rate) == (
        OTHER, 2, 1, 0.5)


async def test_the_collaborations_dashboard_puts_the_tenants_side_by_side(web: Web) -> None:
    await seed(web)
    for name, compared in (("sue", True), ("otto", False)):
        async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
            await log_in(client, name)
            page = (await client.get("/supervisor")).text
            assert ('id="tenants"' in page) is compared
            body = page.partition("</header>")[2]  # the header names otto's municipality
            assert ("Gemeente Oosterdorp" in body) is compared


async def test_a_supervisor_publishes_for_one_municipality_or_all(web: Web) -> None:
    await seed(web)
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
        await log_in(client, "sue")
        form = {"csrf": csrf_of((await client.get("/supervisor/announcements")).text),
                "text_nl": "Oost", "text_en": "East", "valid_from": "2026-12-01",
                "valid_until": "2026-12-31", "inline": "1"}
        assert (await client.post("/supervisor/announcements", data=form)).status_code == 400
        for tenant in (OTHER, ALL):
            response = await client.post("/supervisor/announcements",
                                         data={**form, "tenant": tenant})
            assert response.status_code == 303
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
        await log_in(client, "otto")  # one municipality: no choice, and never another's
        form["csrf"] = csrf_of((await client.get("/supervisor/announcements")).text)
        assert (await client.post("/supervisor/announcements", data=form)).status_code == 303
        refused = await client.post("/supervisor/announcements", data={**form, "tenant": HOME})
        assert refused.status_code == 400
    async with web.balie.history.sessions() as session:
        made = (await session.scalars(select(Announcement.tenant).order_by(Announcement.id)))
        assert made.all() == [OTHER, ALL, OTHER]


async def test_an_admin_gives_tenants_and_sees_only_their_own_users(web: Web) -> None:
    await seed(web)
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
        await log_in(client, "anna")
        page = (await client.get("/admin/users")).text
        assert "olga" in page and "otto" in page
        assert "vera" not in page and "sam" not in page, "users of Voorbeeld or of all"
        token = csrf_of(page)
        assert (await client.post("/admin/users/vera", data={
            "csrf": token, "tenants": OTHER})).status_code == 404
        refused = await client.post("/admin/users", data={
            "csrf": token, "name": "nina", "role": "staff", "password": PASSWORD * 2,
            "tenants": HOME})
        assert refused.status_code == 400
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
        await log_in(client, "ada")  # the collaboration's admin
        token = csrf_of((await client.get("/admin/users")).text)
        assert (await client.post("/admin/users/olga", data={
            "csrf": token, "tenants": "nergens"})).status_code == 400
        assert (await client.post("/admin/users/olga", data={
            "csrf": token, "tenants": f"{HOME},{OTHER}"})).status_code == 200
    olga = await Accounts(web.balie.history, 1, 64).named("olga")
    assert olga is not None and olga.tenants == "oosterdorp,voorbeeld"


@pytest.mark.parametrize(("name", "brand"), [("olga", "Gemeente Oosterdorp"),
                                             ("vera", "Gemeente Voorbeeld"),
                                             ("sam", "Alle gemeenten")])
async def test_the_console_names_the_users_municipality_and_offers_its_standard_replies(
    web: Web, name: str, brand: str
) -> None:
    await seed(web)
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
        token = await log_in(client, name)
        assert f"Balie · {brand}</span>" in (await client.get("/staff")).text
        for tenant, chat in CHATS.items():
            if not sees(name, tenant):
                continue
            claimed = await client.post(f"/staff/chats/{chat}/claim", headers={
                "X-CSRF-Token": token, "Accept": "application/json"})
            assert claimed.json()["won"]
            page = (await client.get(f"/staff/chats/{chat}")).text
            # Oosterdorp's staff answer with the collaboration's replies, Voorbeeld's with its own.
            collaboration = "Je kunt de belastingsamenwerking bellen op 088 123 4500" in page
            assert collaboration is (tenant == OTHER), tenant
            assert ("Je kunt ons ook bellen op 14 0123" in page) is (tenant == HOME), tenant
