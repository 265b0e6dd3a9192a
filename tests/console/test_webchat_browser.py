"""The citizens' web chat in a real browser (Debian's chromium): what a citizen sees and can do.

One real `python -m bot console` process (office open) and one browser serve the whole module;
the out-of-hours test starts a second process with the office closed. A host site for the embed
is served on other loopback addresses: one listed in BALIE_CHAT_EMBED_ORIGINS, one not.
Screenshots go to tests/artifacts/; axe-core must report no violation of any impact.
"""

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    Frame,
    Locator,
    Page,
    expect,
)

from bot.history.accounts import Accounts
from bot.history.log import History
from tests.conftest import MODEL_CACHE, Servers, _empty_postgres, _flush, free_port
from tests.console.conftest import PASSWORD, USERS
from tests.console.test_browser import log_in
from tests.support import browser as browser_support
from tests.support.browser import ARTIFACTS, CHROMIUM, DESKTOP, PHONE, accessible, chromium
from tests.support.facts import facts

SMALL = {"width": 360, "height": 640}
ZOOMED = {"width": 683, "height": 384}  # the desktop at 200 % zoom, in CSS pixels
ZONE = ZoneInfo("Europe/Amsterdam")
expect.set_options(timeout=20_000)

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                       reason="Debian's chromium is not installed"),
    pytest.mark.asyncio(loop_scope="module"),
]


class Host(ThreadingHTTPServer):
    """A municipality's own site: two pages that include the chat's embed.js."""

    site = ""


class HostPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, Host)
        name = self.path.strip("/").removesuffix(".html") or "one"
        body = (f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Gemeente '
                f'{name}</title><meta name="viewport" content="width=device-width, '
                f'initial-scale=1"></head><body><main><h1>Pagina {name}</h1><p><a '
                f'href="/two.html">Naar pagina twee</a></p></main><script '
                f'src="{self.server.site}/chat/embed.js" data-lang="nl" defer></script></body>'
                f'</html>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def hosts() -> Iterator[dict[str, Host]]:
    """The allowed host site (127.0.0.2) and one the chat does not know (127.0.0.3)."""
    served = {name: Host((address, 0), HostPage)
              for name, address in (("allowed", "127.0.0.2"), ("other", "127.0.0.3"))}
    threads = [threading.Thread(target=host.serve_forever, daemon=True)
               for host in served.values()]
    for thread in threads:
        thread.start()
    yield served
    for host in served.values():
        host.shutdown()
        host.server_close()


def address(host: Host) -> str:
    return f"http://{host.server_address[0]}:{host.server_address[1]}"


@contextlib.asynccontextmanager
async def console(env: dict[str, str], folder: Path, servers: Servers) -> AsyncIterator[str]:
    """Run the real console process on an empty database with a user of every role."""
    _flush(env["REDIS_URL"])
    await _empty_postgres(env["DATABASE_URL"], servers.postgres_tables)
    history = await History.open(env["DATABASE_URL"])
    for name, role in USERS.items():
        await Accounts(history, 1, 64).add(name, role, PASSWORD, actor="test")
    await history.close()
    async with browser_support.console(env, folder / "console.log") as url:
        yield url


def environment(servers: Servers, folder: Path, open_now: bool, embed: str = "") -> dict[str, str]:
    if servers.redis is None or servers.postgres is None:
        pytest.skip("no Redis server on 127.0.0.1:6379 or PostgreSQL server on 127.0.0.1:5432")
    return {
        "REDIS_URL": servers.redis, "DATABASE_URL": servers.postgres,
        "BALIE_DATA_DIR": str(folder / "data"), "BALIE_CACHE_DIR": str(MODEL_CACHE),
        "BALIE_FACTS_DIR": facts(folder, open_now=open_now), "BALIE_FLOOD_PER_MINUTE": "1000",
        "BALIE_CONSOLE_PORT": str(free_port()), "BALIE_CHAT_EMBED_ORIGINS": embed,
        "BALIE_PASSWORD_TIME_COST": "1", "BALIE_PASSWORD_MEMORY_KIB": "64",
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(servers: Servers, model: Any, hosts: dict[str, Host],
               tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    folder = tmp_path_factory.mktemp("webchat")
    env = environment(servers, folder, open_now=True, embed=address(hosts["allowed"]))
    async with console(env, folder, servers) as url:
        for host in hosts.values():
            host.site = url
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as instance:
        yield instance


async def in_view(page: Page, item: Locator, whole: bool = True,
                  chat: Page | Frame | None = None) -> None:
    """The item lies inside the log's visible part, above the input bar, in the window.

    With whole=False only its end must: a long answer shows its end, its start scrolls.
    `chat` is the embed's frame when the chat is in one.
    """
    chat = chat or page
    box, log, bar = (await item.bounding_box(), await chat.locator("#log").bounding_box(),
                     await chat.locator("#say").bounding_box())
    size = page.viewport_size
    assert box and log and bar and size
    bottom = box["y"] + box["height"]
    assert bottom <= log["y"] + log["height"] + 1 and bottom <= bar["y"] + 1, (box, log, bar)
    assert not whole or box["y"] >= log["y"] - 1, (box, log)
    assert bar["y"] + bar["height"] <= size["height"] + 1, "the input bar is in the window"
    scrolls = await page.evaluate("document.scrollingElement.scrollHeight - innerHeight")
    assert scrolls <= 0, "the page itself does not scroll: only the log does"


async def focused(page: Page) -> str:
    return str(await page.evaluate("document.activeElement.id || document.activeElement.tagName"))


async def ask(page: Page, text: str) -> Locator:
    """Type and send; return the answer that comes (the last of Balie's messages after it)."""
    await expect(page.locator("#log .msg.out").first).to_be_visible()  # greeted
    before = await page.locator("#log .msg.out").count()
    await page.locator("#text").fill(text)
    await page.keyboard.press("Enter")
    await expect(page.locator("#log .msg.out")).not_to_have_count(before)
    # (also after the page came again in another language)
    await page.wait_for_function("document.activeElement.id === 'text'")
    return page.locator("#log .msg.out").last


CONTRAST = """(element) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  let back = element.parentElement, bg = "rgba(0, 0, 0, 0)";
  while (back && (bg = getComputedStyle(back).backgroundColor).endsWith(", 0)")) {
    back = back.parentElement; }
  const ring = getComputedStyle(element).outlineColor;
  const [a, b] = [lum(ring), lum(bg)].sort((x, y) => y - x);
  return {ratio: (a + 0.05) / (b + 0.05), ring, bg, width: getComputedStyle(element).outlineWidth};
}"""


async def ring_contrast(page: Page) -> float:
    """Tab to the send button; return its focus ring's contrast with what lies behind it."""
    await page.locator("#text").focus()
    await page.keyboard.press("Tab")
    assert await focused(page) == "BUTTON"
    found: dict[str, Any] = await page.evaluate(f"({CONTRAST})(document.activeElement)")
    assert found["width"] == "3px", found
    return float(found["ratio"])


def clock() -> set[str]:
    return {datetime.now(ZONE).strftime("%H:%M")}


async def test_every_answer_lies_in_view_above_the_input_on_a_phone_and_a_desktop(
    site: str, browser: Browser
) -> None:
    page = await browser.new_page(viewport=PHONE)
    await page.goto(f"{site}/chat")
    log = page.locator("#log")
    assert await log.get_attribute("role") == "log"
    assert await log.get_attribute("aria-live") == "polite"
    assert await log.get_attribute("aria-relevant") == "additions", "own words not read back"
    greeting = log.locator(".msg.out").first
    await expect(greeting).to_contain_text("Balie")
    suggestions = greeting.get_by_role("button")
    await expect(suggestions).to_have_count(3)
    await in_view(page, suggestions.last)
    await accessible(page, "webchat-greeting-phone")

    await suggestions.first.click()
    assert await focused(page) == "text", "focus is not lost to the body after a press"
    await expect(log.locator(".msg.in .text").last).to_have_text("Wanneer moet ik betalen?")
    answer = log.locator(".msg.out").last
    await expect(answer).to_contain_text("30 april 2026")
    useful = answer.get_by_role("button", name="Nuttig", exact=True)
    await expect(useful).to_be_visible()
    await expect(answer.get_by_role("button", name="Niet nuttig")).to_contain_text("Niet nuttig")
    await in_view(page, answer.get_by_role("button").last)
    await accessible(page, "webchat-answer-phone")

    # Balie typt… shows while the answer is on its way (held back here until it was seen).
    gate = asyncio.Event()

    async def held(route: Any) -> None:
        await gate.wait()
        await route.continue_()

    await page.route("**/chat/api/send", held)
    await page.locator("#text").fill("wat is jullie telefoonnummer en e-mailadres?")
    await page.keyboard.press("Enter")
    await expect(page.locator("#typing")).to_be_visible()
    await expect(page.locator("#typing")).to_contain_text("Balie typt")
    gate.set()
    await expect(page.locator("#typing")).to_be_hidden()
    await page.unroute("**/chat/api/send")
    contact = log.locator(".msg.out").last
    await expect(contact.locator('a[href="tel:140123"]')).to_have_text("14 0123")
    await expect(contact.locator('a[href="mailto:belastingen@voorbeeld.example"]')).to_be_visible()
    await in_view(page, contact, whole=False)

    for size, name in ((SMALL, "small"), (ZOOMED, "zoomed"), (DESKTOP, "desktop")):
        await page.set_viewport_size(size)
        answer = await ask(page, "hoe vraag ik kwijtschelding aan?")
        await expect(answer).to_contain_text("wijtschelding")
        await in_view(page, answer.get_by_role("button").last)
        long = await ask(page, "/help")
        await in_view(page, long, whole=False)
        await page.screenshot(path=ARTIFACTS / f"webchat-long-{name}.png")
        assert await log.evaluate("log => log.scrollTop > 0"), "the log scrolled, not the page"
        await long.evaluate("answer => answer.scrollIntoView({block: 'start'})")
        await in_view(page, long.locator(".who"))  # its start can be scrolled to

    assert await ring_contrast(page) >= 3, "the focus ring stands out on white"
    await page.emulate_media(color_scheme="dark")
    assert await ring_contrast(page) >= 3, "and on the dark background"
    await page.evaluate("document.getElementById('log').scrollTop = 1e9")
    await accessible(page, "webchat-dark-desktop")

    quiet = await browser.new_page(viewport=PHONE, java_script_enabled=False)
    await quiet.goto(f"{site}/chat")
    await expect(quiet.locator(".noscript")).to_contain_text("JavaScript")
    await expect(quiet.locator('.noscript a[href="tel:140123"]')).to_have_text("14 0123")
    await quiet.close()
    await page.close()


async def test_the_chat_survives_reloads_and_tabs_and_follows_the_language(
    site: str, browser: Browser
) -> None:
    context: BrowserContext = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await page.goto(f"{site}/chat")
    log = page.locator("#log")
    await expect(log.locator(".msg.out").first).to_contain_text("Balie")
    await ask(page, "mijn telefoonnummer is 06 12345678")
    await expect(log.locator(".msg.in").last).to_contain_text("06 12345678")
    offer = await ask(page, "ik wil een medewerker spreken")
    await expect(offer.get_by_role("button")).not_to_have_count(0)
    token = await page.evaluate("localStorage.getItem('balie-chat-token')")
    times = clock()

    await page.reload()
    await expect(log.locator(".msg.out").last.get_by_role("button")).not_to_have_count(0)
    await expect(log).not_to_contain_text("/start")
    await expect(log.locator(".msg.in").first).to_contain_text("[phone]")
    await expect(log.locator(".msg.in").first.locator(".note")).to_contain_text("afgeschermd")
    shown = await log.locator(".msg.out time").last.inner_text()
    assert shown in times | clock(), f"{shown} is the time in Amsterdam"
    assert await log.locator("time").count() == await log.locator(".msg").count()

    other = await context.new_page()
    await other.goto(f"{site}/chat")
    await expect(other.locator("#log")).to_contain_text("ik wil een medewerker spreken")
    assert await other.evaluate("localStorage.getItem('balie-chat-token')") == token
    await log.locator(".msg.out").last.get_by_role("button", name="Nee, dank je").click()
    await expect(log.locator(".msg.in .text").last).to_have_text("Nee, dank je")
    await expect(log).to_contain_text("dan help ik je verder")
    await expect(other.locator("#log")).to_contain_text("dan help ik je verder")
    await accessible(page, "webchat-reloaded-desktop")

    await page.get_by_role("link", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(other.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#log")).to_contain_text("dan help ik je verder")
    english = await ask(page, "when do I have to pay?")
    await expect(english).to_contain_text("30 April 2026")
    await ask(page, "/taal nl")
    await expect(page.locator("html")).to_have_attribute("lang", "nl")
    await expect(page.locator("#text")).to_have_attribute("placeholder", "Typ je vraag")
    dutch = await ask(page, "wanneer moet ik betalen?")
    await expect(dutch).to_contain_text("30 april 2026")

    confirm = await ask(page, "/vergeet")
    await confirm.get_by_role("button").first.click()
    await expect(page.locator("#log .msg.out").first).to_contain_text("gewist")
    await expect(page.locator("#log .msg.out").last).to_contain_text("Ik ben Balie")
    await expect(page.locator("#log .msg.in")).to_have_count(0)
    fresh = await page.evaluate("localStorage.getItem('balie-chat-token')")
    assert fresh and fresh != token
    old = await page.request.get(f"{site}/chat/api/history", headers={"X-Chat-Token": token})
    assert old.status == 401

    await ask(page, "wanneer moet ik betalen?")
    await page.get_by_role("button", name="Gesprek beëindigen").click()
    await expect(page.locator("#log")).to_contain_text("beëindigd")
    assert await page.evaluate("localStorage.getItem('balie-chat-token')") is None
    ended = await page.request.get(f"{site}/chat/api/history", headers={"X-Chat-Token": fresh})
    assert ended.status == 401
    await expect(other.locator("#log")).to_contain_text("beëindigd"), "the other tab too"
    again = await ask(page, "hoe maak ik bezwaar?")
    await expect(again).to_contain_text("bezwaar")
    await expect(page.locator("#log .msg.out").first).to_contain_text("Ik ben Balie")
    await page.get_by_role("button", name="Nieuw gesprek").click()
    await expect(page.locator("#log .msg")).to_have_count(1)
    await expect(page.locator("#log .msg.out")).to_contain_text("Ik ben Balie")
    await expect(other.locator("#log .msg")).to_have_count(1)
    await context.close()


async def test_staff_messages_carry_the_display_name_and_a_badge(
    site: str, browser: Browser
) -> None:
    admin = await browser.new_page(viewport=DESKTOP)
    await log_in(admin, site, "ada")
    await admin.get_by_label("Naam voor burgers van sam").fill("Samira")
    await admin.get_by_label("Naam voor burgers van sam").press("Enter")
    await expect(admin.get_by_label("Naam voor burgers van sam")).to_have_value("Samira")
    await accessible(admin, "console-users-display-names")
    await admin.close()

    citizen = await browser.new_page(viewport=PHONE)
    await citizen.goto(f"{site}/chat")
    offer = await ask(citizen, "ik wil een medewerker spreken")
    await offer.get_by_role("button").first.click()
    await expect(citizen.locator("#log")).to_contain_text("wachtrij")
    staff = await browser.new_page(viewport=DESKTOP)
    await log_in(staff, site, "sam")
    await staff.locator("#waiting a").first.click()
    await staff.get_by_role("button", name="Chat overnemen").click()
    await expect(citizen.locator("#log")).to_contain_text("overgenomen door Samira")
    await staff.get_by_label("Je bericht aan de burger").fill("Hoi, ik help je verder.")
    await staff.get_by_role("button", name="Versturen").click()
    message = citizen.locator("#log .msg.staff")
    await expect(message).to_have_count(1)
    await expect(message.locator(".text")).to_have_text("Hoi, ik help je verder.")
    await expect(message.locator(".who")).to_contain_text("Samira")
    await expect(message.locator(".badge")).to_have_text("medewerker")
    await expect(message.locator(".who")).not_to_contain_text("Balie")
    await in_view(citizen, message)
    await accessible(citizen, "webchat-staff-phone")
    await citizen.reload()
    await expect(message.locator(".who")).to_contain_text("Samira")
    await expect(message.locator(".text")).to_have_text("Hoi, ik help je verder.")
    await staff.close()
    await citizen.close()


async def test_the_embed_is_a_dialog_on_the_host_site(
    site: str, browser: Browser, hosts: dict[str, Host]
) -> None:
    host = address(hosts["allowed"])
    context = await browser.new_context(viewport=SMALL)
    page = await context.new_page()
    await page.goto(f"{host}/one.html")
    launch = page.get_by_role("button", name="Vragen over belastingen?")
    await launch.click()
    dialog = page.get_by_role("dialog", name="Chat met het team Belastingen")
    await expect(dialog).to_be_visible()
    await expect(launch).to_have_attribute("aria-expanded", "true")
    frame = page.frame_locator("iframe")
    await expect(frame.locator("#log .msg.out").first).to_contain_text("Balie")
    await page.wait_for_function("document.activeElement.tagName === 'IFRAME'")
    chat = page.frames[1]
    await chat.wait_for_function("document.activeElement.id === 'text'")
    sheet = await dialog.bounding_box()
    assert sheet
    assert abs(sheet["y"] + sheet["height"] - 640) <= 1 and sheet["width"] >= 359, "a bottom sheet"
    assert sheet["height"] <= 0.8 * 640, "the top of the host page stays in sight"
    await accessible(page, "webchat-embed-phone", frame=True)
    await chat.locator("#text").fill("hoe maak ik bezwaar?")
    await chat.locator("#text").press("Enter")
    await expect(frame.locator("#log .msg.out")).to_have_count(2)
    await in_view(page, chat.locator("#log .msg.out").last.get_by_role("button").last, chat=chat)
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    assert await page.evaluate("document.activeElement.className") == "balie-launch"
    await launch.click()
    await expect(dialog).to_be_visible()
    await page.get_by_role("link", name="Naar pagina twee").click()
    await expect(page.get_by_role("heading", name="Pagina two")).to_be_visible()
    await expect(page.get_by_role("dialog")).to_be_visible(), "still open on the next page"
    await expect(frame.locator("#log")).to_contain_text("hoe maak ik bezwaar?"), "the same chat"
    await page.get_by_role("button", name="Sluiten").click()
    await expect(page.get_by_role("dialog")).to_be_hidden()
    assert await page.evaluate("document.activeElement.className") == "balie-launch"
    await page.set_viewport_size(DESKTOP)
    await launch.click()
    corner = await page.get_by_role("dialog").bounding_box()
    assert corner and corner["x"] > DESKTOP["width"] / 2 and corner["width"] < 500
    await page.screenshot(path=ARTIFACTS / "webchat-embed-desktop.png")
    await context.close()

    stranger = await browser.new_page(viewport=SMALL)
    await stranger.goto(f"{address(hosts['other'])}/one.html")
    await stranger.get_by_role("button", name="Vragen over belastingen?").click()
    refused = stranger.get_by_role("dialog")
    await expect(refused).to_contain_text("kan op deze website niet worden getoond")
    await expect(refused.locator('a[href="tel:140123"]')).to_be_visible()
    assert await stranger.locator("iframe").count() == 0
    await accessible(stranger, "webchat-embed-refused")
    await stranger.close()


async def test_out_of_hours_the_citizen_comes_back_to_the_staff_reply(
    servers: Servers, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("closed")
    async with console(environment(servers, folder, open_now=False), folder,
                       servers) as closed:
        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        await page.goto(f"{closed}/chat")
        offer = await ask(page, "ik wil een medewerker spreken")
        await offer.get_by_role("button").first.click()
        hours = page.locator("#log .msg.out").last
        await expect(hours).to_contain_text("er nu niet")
        await hours.get_by_role("button", name="Bericht achterlaten").click()
        await expect(page.locator("#log .msg.out").last).to_contain_text("Typ je bericht")
        left = await ask(page, "Ik wil weten waarom mijn aanslag zo hoog is.")
        await expect(left).to_contain_text(
            "Je kunt later in deze browser terugkomen in dit gesprek")
        await page.close()

        staff = await browser.new_page(viewport=DESKTOP)
        await log_in(staff, closed, "sam")
        await staff.get_by_label("Antwoord in de chat").fill("Je WOZ-waarde is gestegen.")
        await staff.get_by_role("button", name="Antwoord sturen").click()
        await expect(staff.locator("#tasks")).to_contain_text("Geen open taken")
        await staff.close()

        back = await context.new_page()
        await back.goto(f"{closed}/chat")
        reply = back.locator("#log .msg.staff")
        await expect(reply.locator(".text")).to_have_text("Je WOZ-waarde is gestegen.")
        await expect(reply.locator(".who")).to_contain_text("Sam")
        await expect(back.locator("#log")).to_contain_text("waarom mijn aanslag zo hoog is")
        await in_view(back, reply)
        await context.close()
