"""Who may open what: the route-by-role matrix, CSRF, sessions, passwords, lock-out, audit."""

import asyncio
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.routing import APIRoute
from sqlalchemy import select

from bot.console.app import ROUTERS, SESSION_SECONDS
from bot.console.sessions import COOKIE
from bot.history.accounts import MAX_FAILED_LOGINS, Accounts
from bot.history.audit import Audit
from bot.history.log import Entry
from bot.history.passwords import common, weakness
from bot.settings import Settings
from bot.state import keys
from tests.console.conftest import (
    PASSWORD,
    USERS,
    Citizen,
    Web,
    csrf_of,
    from_address,
    log_in,
    serving,
)

ANONYMOUS = "anonymous"
ROLES = [ANONYMOUS, *USERS.values()]
NAME_OF = {role: name for name, role in USERS.items()}
# Who may open each part of the app: written out here, not read from the code under test.
MATRIX = {
    "/staff": {"staff", "supervisor"},
    "/supervisor": {"supervisor"},
    "/admin": {"admin"},
    "/account": {"staff", "supervisor", "admin"},
}
PUBLIC = {"/", "/login", "/logout", "/chat", "/chat/embed.js", "/chat/api/start",
          "/chat/api/send", "/chat/api/poll", "/chat/api/history"}


def allowed(path: str) -> set[str] | None:
    """Return the roles that may open a path, or None for a public one."""
    if path in PUBLIC:
        return None
    return next(roles for prefix, roles in MATRIX.items() if path.startswith(prefix))


def routes(web: Web) -> list[tuple[str, str]]:
    found = []
    for route in (route for router in ROUTERS for route in router.routes):
        if isinstance(route, APIRoute):
            path = (route.path.replace("{chat_id}", "tg:1").replace("{name}", "sam")
                    .replace("{task_id}", "1").replace("{announcement_id}", "1")
                    .replace("{poll_id}", "1"))
            found += [(method, path) for method in sorted(route.methods)]
    return found


def test_every_route_is_in_the_matrix(web: Web) -> None:
    paths = {path for _, path in routes(web)}
    assert len(paths) > 15
    for path in paths:
        assert path in PUBLIC or any(path.startswith(prefix) for prefix in MATRIX), path


async def test_route_role_matrix(web: Web) -> None:
    results: dict[str, dict[str, int]] = {}
    for role in ROLES:
        async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
            token = await log_in(client, NAME_OF[role]) if role != ANONYMOUS else ""
            for method, path in routes(web):
                if path == "/logout":
                    continue
                response = await client.request(method, path, headers={"X-CSRF-Token": token})
                results.setdefault(f"{method} {path}", {})[role] = response.status_code
                roles = allowed(path)
                if roles is None:
                    continue
                if role == ANONYMOUS and method == "GET":
                    assert response.status_code == 303, (method, path)
                    assert response.headers["location"] == "/login"
                elif role == ANONYMOUS:
                    # Without a session there is no CSRF token either: refused before login.
                    assert response.status_code in {303, 403}, (method, path)
                elif role in roles:
                    assert response.status_code not in {401, 403}, (role, method, path)
                else:
                    assert response.status_code == 403, (role, method, path)
    print("\nroute by role matrix (HTTP status)")
    print(f"{'':44}" + "".join(f"{role:>12}" for role in ROLES))
    for route, statuses in sorted(results.items()):
        print(f"{route:44}" + "".join(f"{statuses[role]:>12}" for role in ROLES))


async def test_every_change_outside_the_web_chat_needs_the_csrf_token(web: Web) -> None:
    changes = [(method, path) for method, path in routes(web)
               if method != "GET" and path not in {"/login", "/logout"}]
    assert len(changes) > 10
    for method, path in changes:
        roles = allowed(path)
        assert roles, (method, path)
        async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
            await log_in(client, NAME_OF[sorted(roles)[0]])
            response = await client.request(method, path)
        assert response.status_code == 403 and "CSRF" in response.text, (method, path)


async def test_a_form_without_the_csrf_token_is_refused(client: httpx.AsyncClient) -> None:
    token = await log_in(client, "ada")
    form = {"name": "eve", "role": "staff", "password": PASSWORD}
    assert (await client.post("/admin/users", data=form)).status_code == 403
    assert (await client.post("/admin/users", data={**form, "csrf": "forged"})).status_code == 403
    assert "eve" not in (await client.get("/admin/users")).text
    assert (await client.post("/admin/users", data={**form, "csrf": token})).status_code == 200
    assert ">eve<" in (await client.get("/admin/users")).text


async def test_login_needs_the_token_of_its_own_form(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.url) as client:
        response = await client.post("/login", data={"name": "sam", "password": PASSWORD})
        assert response.status_code == 403


async def test_five_wrong_passwords_lock_the_account(web: Web, client: httpx.AsyncClient) -> None:
    for _ in range(5):
        token = csrf_of((await client.get("/login")).text)
        response = await client.post("/login", data={"name": "sam", "password": "wrong guess!",
                                                     "csrf": token})
        assert response.status_code == 401
    token = csrf_of((await client.get("/login")).text)
    response = await client.post("/login", data={"name": "sam", "password": PASSWORD,
                                                 "csrf": token})
    assert response.status_code == 401, "the right password must not open a locked account"
    assert "geblokkeerd" in response.text
    async with web.balie.history.sessions() as session:
        actions = (await session.scalars(select(Audit.action).where(
            Audit.actor.startswith("sam@")))).all()
    assert actions.count("login_failed") == 5
    assert "locked_out" in actions and "login_locked" in actions


async def test_passwords_are_hashed_at_the_configured_cost(
    web: Web, client: httpx.AsyncClient, settings: Settings
) -> None:
    accounts = Accounts(web.balie.history, settings.password_time_cost,
                        settings.password_memory_kib)
    cost = f"m={settings.password_memory_kib},t={settings.password_time_cost},"
    before = {user.name: user.password_hash for user in await accounts.users()}
    assert before and all(cost in hashed for hashed in before.values()), before
    await log_in(client, "sam")
    # The console hashes at the same cost, so a login finds nothing to rehash.
    assert {user.name: user.password_hash for user in await accounts.users()} == before


async def test_an_admin_unlocks_a_locked_account(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.url) as client:
        for _ in range(5):
            token = csrf_of((await client.get("/login")).text)
            await client.post("/login", data={"name": "sue", "password": "nope nope",
                                              "csrf": token})
    async with httpx.AsyncClient(base_url=web.url) as admin:
        token = await log_in(admin, "ada")
        response = await admin.post("/admin/users/sue", data={"csrf": token})
        assert response.status_code == 200
    async with httpx.AsyncClient(base_url=web.url) as client:
        await log_in(client, "sue")


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    token = await log_in(client, "sue")
    assert (await client.get("/supervisor")).status_code == 200
    await client.post("/logout", data={"csrf": token})
    assert (await client.get("/supervisor")).status_code == 303


async def test_session_cookie_is_httponly_and_strict(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.url) as client:
        response = await client.get("/login")
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie


async def test_every_page_has_a_strict_content_security_policy(client: httpx.AsyncClient) -> None:
    await log_in(client, "sue")
    for path in ("/chat", "/login", "/supervisor", "/supervisor/log"):
        policy = (await client.get(path)).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize("role", ["sam", "sue"])
async def test_views_and_exports_are_audited(web: Web, client: httpx.AsyncClient,
                                             role: str) -> None:
    await log_in(client, role)
    if role == "sue":
        assert (await client.get("/supervisor/chats/tg:42")).status_code == 404, "not logged"
        await web.balie.history.record([Entry("tg:42", "telegram", "in", "text", "hallo")])
        assert (await client.get("/supervisor/chats/tg:42")).status_code == 200
        await client.get("/supervisor/log.csv?text=x")
    else:
        assert (await client.get("/staff/chats/tg:42")).status_code == 404, "never handed off"
        await web.services.desk.enqueue("tg:42", "live", "nl", None)
        assert (await client.get("/staff/chats/tg:42")).status_code == 200
    async with web.balie.history.sessions() as session:
        rows = (await session.scalars(select(Audit).where(Audit.actor.startswith(role)))).all()
    actions = {row.action: row.detail for row in rows}
    assert f"{role}@" in next(row.actor for row in rows if row.action == "login")
    expected = {"sam": {"chat_opened"}, "sue": {"transcript_view", "export"}}[role]
    assert expected <= set(actions)
    assert "tg:42" in (actions.get("chat_opened") or actions["transcript_view"] or "")


def cookie_copy(web: Web, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Return a second client holding a copy of this client's session cookie."""
    return httpx.AsyncClient(base_url=web.url, cookies={COOKIE: client.cookies[COOKIE]})


async def audited(web: Web, actor_prefix: str) -> list[str]:
    """Return the audited actions of actors starting with this prefix, oldest first."""
    async with web.balie.history.sessions() as session:
        return list((await session.scalars(select(Audit.action).where(
            Audit.actor.startswith(actor_prefix)).order_by(Audit.id))).all())


async def test_a_copied_cookie_stops_working_at_logout(
    web: Web, client: httpx.AsyncClient
) -> None:
    token = await log_in(client, "sam")
    await web.services.desk.enqueue("tg:42", "live", "nl", None)
    async with cookie_copy(web, client) as copy:
        assert (await copy.get("/staff")).status_code == 200
        await client.post("/logout", data={"csrf": token})
        assert (await copy.get("/staff")).status_code == 303
        claim = await copy.post("/staff/chats/tg:42/claim", data={"csrf": token})
        assert claim.status_code in {303, 403}
    ticket = await web.services.desk.ticket("tg:42")
    assert ticket is not None and not ticket.agent, "a logged-out cookie claimed a chat"


async def test_a_session_from_before_a_deactivation_stays_ended(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.url) as sam, \
            httpx.AsyncClient(base_url=web.url) as ada:
        await log_in(sam, "sam")
        token = await log_in(ada, "ada")
        for active in ("no", "yes"):
            response = await ada.post("/admin/users/sam", data={"csrf": token, "active": active})
            assert response.status_code == 200
        assert (await sam.get("/staff")).status_code == 303
        await log_in(sam, "sam")


async def test_a_new_role_ends_the_users_sessions(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.url) as sue, \
            httpx.AsyncClient(base_url=web.url) as ada:
        await log_in(sue, "sue")
        token = await log_in(ada, "ada")
        await ada.post("/admin/users/sue", data={"csrf": token, "role": "staff"})
        assert (await sue.get("/staff")).status_code == 303


async def test_the_cookie_holds_only_a_random_id_of_a_session_in_redis(
    web: Web, client: httpx.AsyncClient, settings: Settings
) -> None:
    await log_in(client, "sue")
    sid = client.cookies[COOKIE]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sid), "the cookie carries more than an id"
    key = keys.console_session(hashlib.sha256(sid.encode()).hexdigest())
    ttl = await web.services.store.client.ttl(key)
    assert 0 < ttl <= settings.session_idle_minutes * 60


async def test_a_session_ends_after_its_lifetime_however_busy(
    web: Web, client: httpx.AsyncClient
) -> None:
    await log_in(client, "sue")
    key = keys.console_session(hashlib.sha256(client.cookies[COOKIE].encode()).hexdigest())
    stored = json.loads(await web.services.store.client.get(key))
    stored["started"] -= SESSION_SECONDS
    await web.services.store.client.set(key, json.dumps(stored), keepttl=True)
    assert (await client.get("/supervisor")).status_code == 303


async def test_logging_in_starts_a_new_session(web: Web, client: httpx.AsyncClient) -> None:
    await client.get("/login")
    before = client.cookies[COOKIE]
    await log_in(client, "sue")
    assert client.cookies[COOKIE] != before, "the session id from before the login stays"


async def test_a_user_changes_their_own_password(web: Web) -> None:
    new = "a brand new passphrase"
    async with httpx.AsyncClient(base_url=web.url) as here, \
            httpx.AsyncClient(base_url=web.url) as elsewhere:
        token = await log_in(here, "sam")
        await log_in(elsewhere, "sam")
        tries = [(PASSWORD + "x", new, new), (PASSWORD, new, new + "x"),
                 (PASSWORD, "aaaaaaaaaaaa", "aaaaaaaaaaaa")]
        for current, password, repeat in tries:
            response = await here.post("/account/password", data={
                "csrf": token, "current": current, "new": password, "repeat": repeat})
            assert response.status_code == 400, (current, password, repeat)
        response = await here.post("/account/password", data={
            "csrf": token, "current": PASSWORD, "new": new, "repeat": new})
        assert response.status_code == 200 and "gewijzigd" in response.text
        assert (await here.get("/staff")).status_code == 200, "the changer stays logged in"
        assert (await elsewhere.get("/staff")).status_code == 303, "other sessions end"
    async with httpx.AsyncClient(base_url=web.url) as client:
        token = csrf_of((await client.get("/login")).text)
        old = await client.post("/login", data={"name": "sam", "password": PASSWORD,
                                                "csrf": token})
        assert old.status_code == 401
        await log_in(client, "sam", new)
    assert "password_changed" in await audited(web, "sam")


async def test_an_admin_resets_a_password(web: Web) -> None:
    new = "given by the admin today"
    async with httpx.AsyncClient(base_url=web.url) as sue, \
            httpx.AsyncClient(base_url=web.url) as ada:
        await log_in(sue, "sue")
        token = await log_in(ada, "ada")
        own = await ada.post("/admin/users/ada/password", data={"csrf": token, "password": new})
        assert own.status_code == 400, "an admin's own password needs the current one"
        weak = await ada.post("/admin/users/sue/password",
                              data={"csrf": token, "password": "Welkom2026!!"})
        assert weak.status_code == 400
        reset = await ada.post("/admin/users/sue/password", data={"csrf": token, "password": new})
        assert reset.status_code == 200
        assert (await sue.get("/supervisor")).status_code == 303
        await log_in(sue, "sue", new)
    assert "password_reset" in await audited(web, "ada")


WEAK = ["aaaaaaaaaaaa", "short1!", "Password2024!", "welkomwelkom", "qwertyuiopas",
        "123456789012", "abcabcabcabc", "eve is my name", "1qaz2wsx3edc"]


def test_the_password_policy_refuses_weak_and_common_passwords() -> None:
    refused = {password: weakness(password, "eve") for password in WEAK}
    assert all(refused.values()), [password for password, why in refused.items() if not why]
    assert weakness(PASSWORD, "eve") is None
    assert len(common()) > 3000


async def test_the_admin_page_refuses_weak_passwords(web: Web, client: httpx.AsyncClient) -> None:
    token = await log_in(client, "ada")
    for password in WEAK:
        response = await client.post("/admin/users", data={
            "csrf": token, "name": "eve", "role": "staff", "password": password})
        assert response.status_code == 400, password
        assert 'value="eve"' in response.text, "the name typed is kept"
        assert re.search(r'role="alert">(Een|Dit) wachtwoord', response.text), "in Dutch"
        assert f'value="{password}"' not in response.text, "never the password"
    assert ">eve<" not in (await client.get("/admin/users")).text


async def test_nobody_changes_their_own_role_or_switches_themselves_off(
    web: Web, client: httpx.AsyncClient
) -> None:
    token = await log_in(client, "ada")
    for change in ({"role": "supervisor"}, {"active": "no"}):
        response = await client.post("/admin/users/ada", data={"csrf": token, **change})
        assert response.status_code == 400, change
    assert (await client.get("/admin/users")).status_code == 200, "still an active admin"
    assert (await client.get("/supervisor")).status_code == 403


async def wrong_logins(web: Web, names: list[str], addresses: list[str]) -> list[int]:
    """Send a wrong password for each name at once, each from its address; return statuses."""

    async def attempt(name: str, address: str) -> int:
        async with from_address(web, address) as client:
            token = csrf_of((await client.get("/login")).text)
            response = await client.post("/login", data={
                "name": name, "password": "not the password", "csrf": token})
            return response.status_code

    return list(await asyncio.gather(*map(attempt, names, addresses)))


async def test_wrong_passwords_sent_at_once_get_at_most_five_checks(web: Web) -> None:
    addresses = [f"127.0.1.{n}" for n in range(1, 26)]
    statuses = await wrong_logins(web, ["sam"] * 25, addresses)
    assert statuses == [401] * 25
    actions = await audited(web, "sam@")
    assert actions.count("login_failed") == MAX_FAILED_LOGINS
    assert actions.count("login_locked") == 25 - MAX_FAILED_LOGINS
    assert actions.count("locked_out") == 1
    async with from_address(web, "127.0.1.99") as client:
        token = csrf_of((await client.get("/login")).text)
        response = await client.post("/login", data={"name": "sam", "password": PASSWORD,
                                                     "csrf": token})
        assert response.status_code == 401, "the right password opened a locked account"


async def test_an_address_past_its_limit_gets_no_password_checks(
    web: Web, settings: Settings
) -> None:
    limit = settings.login_failures_per_address
    names = [f"nobody{n}" for n in range(25)]
    statuses = await wrong_logins(web, names, ["127.0.2.1"] * 25)
    assert sorted(statuses) == [401] * limit + [429] * (25 - limit)
    assert (await audited(web, "anonymous@127.0.2.1")).count("login_failed") == limit
    async with from_address(web, "127.0.2.1") as client:
        token = csrf_of((await client.get("/login")).text)
        response = await client.post("/login", data={"name": "sam", "password": PASSWORD,
                                                     "csrf": token})
        assert response.status_code == 429 and "dit adres" in response.text
    async with from_address(web, "127.0.2.2") as client:
        await log_in(client, "sam")


@dataclass
class Checks:
    """argon2 verifications seen in this process: by which thread, and most at once."""

    threads: list[str] = field(default_factory=list)
    running: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Checks:
    """Watch argon2's verify (the library's, not Balie's) without changing what it does."""
    seen, verify = Checks(), PasswordHasher.verify

    def watched(hasher: PasswordHasher, hashed: str | bytes, password: str | bytes) -> bool:
        with seen.lock:
            seen.threads.append(threading.current_thread().name)
            seen.running += 1
            seen.most = max(seen.most, seen.running)
        try:
            return verify(hasher, hashed, password)
        finally:
            with seen.lock:
                seen.running -= 1

    monkeypatch.setattr(PasswordHasher, "verify", watched)
    return seen


async def test_password_checks_run_off_the_event_loop_at_most_two_at_once(
    settings: Settings, checks: Checks
) -> None:
    async with serving(settings.model_copy(update={"password_concurrency": 2})) as web, \
            httpx.AsyncClient(base_url=web.url, timeout=120) as page:
        addresses = [f"127.0.3.{n}" for n in range(1, 41)]
        statuses, chat = await asyncio.gather(
            wrong_logins(web, [f"nobody{n}" for n in range(40)], addresses),
            Citizen(page).start())
        assert statuses == [401] * 40 and chat
        assert (await audited(web, "anonymous@127.0.3.")).count("login_failed") == 40
    assert len(checks.threads) == 40
    assert all(name.startswith("balie-argon2") for name in checks.threads), set(checks.threads)
    assert 1 <= checks.most <= 2


async def test_unknown_and_locked_names_get_a_password_check_like_a_wrong_one(
    web: Web, checks: Checks, settings: Settings
) -> None:
    async def checks_of_login(name: str, address: str) -> int:
        before = len(checks.threads)
        statuses = await wrong_logins(web, [name], [address])
        assert statuses == [401]
        return len(checks.threads) - before

    wrong = [await checks_of_login("sam", "127.0.4.1") for _ in range(MAX_FAILED_LOGINS)]
    locked = await checks_of_login("sam", "127.0.4.1")
    unknown = await checks_of_login("nobody", "127.0.4.2")
    await Accounts(web.balie.history, settings.password_time_cost,
                   settings.password_memory_kib).change("sue", "test", active=False)
    inactive = await checks_of_login("sue", "127.0.4.2")
    assert wrong == [1] * MAX_FAILED_LOGINS and locked == unknown == inactive == 1


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    settings: Settings, trusted: str
) -> None:
    async with serving(settings.model_copy(update={"trusted_proxies": trusted})) as web, \
            httpx.AsyncClient(base_url=web.url,
                              headers={"X-Forwarded-For": "203.0.113.9"}) as client:
        await log_in(client, "sam")
        actors = await audited(web, "sam@203.0.113.9")
        assert actors == (["login"] if trusted else [])


@pytest.mark.parametrize("url", ["", "https://balie.example.nl"])
async def test_security_headers(settings: Settings, url: str) -> None:
    async with serving(settings.model_copy(update={"public_url": url or None})) as web, \
            httpx.AsyncClient(base_url=web.url) as client:
        headers = (await client.get("/login")).headers
        assert headers["cache-control"] == "no-store"
        assert "camera=()" in headers["permissions-policy"]
        assert ("strict-transport-security" in headers) == bool(url)
