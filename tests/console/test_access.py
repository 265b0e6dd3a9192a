"""Who may open what: the whole route-by-role matrix, CSRF, lock-out, and the audit trail."""

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from bot.console.app import ROUTERS
from bot.history.accounts import Accounts
from bot.history.audit import Audit
from bot.settings import Settings
from tests.console.conftest import PASSWORD, USERS, Web, csrf_of, log_in

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
                    .replace("{task_id}", "1"))
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
        await client.get("/supervisor/chats/tg:42")
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
