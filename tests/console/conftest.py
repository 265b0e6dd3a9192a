"""Console fixtures: Balie with the web app on a real port, and users of every role."""

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.console import create_app, serve
from bot.history.accounts import Accounts
from bot.history.log import History
from bot.pipeline import Balie
from bot.services import Services
from bot.settings import Settings
from tests.support.facts import facts

PASSWORD = "correct horse battery"
USERS = {"sam": "staff", "sue": "supervisor", "ada": "admin"}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Web:
    """The running web app: its address, the services and the Balie behind it."""

    url: str
    services: Services

    @property
    def balie(self) -> Balie:
        """The turn pipeline behind the web chat."""
        return self.services.balie


@pytest.fixture
def environment(environment: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The office is open all day, so a citizen can be handed to staff whenever tests run."""
    return {**environment, "BALIE_FACTS_DIR": facts(tmp_path, open_now=True)}


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Web]:
    """Serve Balie's web app on these settings, with a user of every role."""
    history = await History.open(settings.sqlalchemy_url)
    accounts = Accounts(history, settings.password_time_cost, settings.password_memory_kib)
    for name, role in USERS.items():
        if await accounts.named(name) is None:
            await accounts.add(name, role, PASSWORD, actor="test")
    await history.close()
    async with Services.opened(settings) as services, serve(
            create_app(settings, services), settings):
        yield Web(f"http://127.0.0.1:{settings.console_port}", services)


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[Web]:
    async with serving(settings) as served:
        yield served


def from_address(web: Web, address: str) -> httpx.AsyncClient:
    """Return a client whose requests come from another address (all of 127/8 is loopback)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=web.url, timeout=120, transport=transport)


def csrf_of(page: str) -> str:
    found = CSRF.search(page)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def log_in(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the form; return the session's CSRF token."""
    token = csrf_of((await client.get("/login")).text)
    response = await client.post("/login", data={"name": name, "password": password,
                                                 "csrf": token})
    assert response.status_code == 303, response.text
    return csrf_of((await client.get(response.headers["location"])).text)


@pytest.fixture
async def client(web: Web) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as http:
        yield http


class Citizen:
    """A citizen on the web chat, through the JSON API the page uses."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token = ""
        self.answer: dict[str, object] = {}  # the last one whole: replies, language, ended

    async def start(self, language: str = "nl",
                    municipality: str = "") -> list[dict[str, object]]:
        """Open a chat, on one municipality's site (`/chat?gemeente=`) or a shared one."""
        opened = {"language": language, **({"municipality": municipality} if municipality
                                            else {})}
        self.answer = answer = (await self.client.post("/chat/api/start", json=opened)).json()
        self.token = answer["token"]
        return list(answer["replies"])

    async def say(self, text: str = "", button: str = "") -> list[dict[str, object]]:
        response = await self.client.post("/chat/api/send", json={"text": text, "button": button},
                                          headers={"X-Chat-Token": self.token})
        assert response.status_code == 200, response.text
        self.answer = response.json()
        return list(self.answer["replies"])  # type: ignore[call-overload]

    async def collect(self) -> list[dict[str, object]]:
        response = await self.client.get("/chat/api/poll", headers={"X-Chat-Token": self.token})
        return list(response.json()["replies"])

    @property
    def chat_id(self) -> str:
        from itsdangerous import URLSafeSerializer
        return str(URLSafeSerializer("", salt="balie-webchat").loads_unsafe(self.token)[1])
