"""In a real browser (Debian's chromium via Playwright): citizens on /chat, staff, supervisors.

The real `python -m bot console` process serves the pages. Screenshots go to tests/artifacts/;
axe-core (vendored in tests/support/axe/) finds no accessibility violation of any impact.
"""

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.history.accounts import Accounts
from bot.history.log import History
from bot.settings import Settings
from tests.console.conftest import PASSWORD, USERS
from tests.support.browser import CHROMIUM, PHONE, accessible, chromium, console

XSS = "<img src=x onerror=alert(1)>"
LOGS: dict[str, Path] = {}
# A wait, not a speed check: the staff pages poll every 3 s, and a busy machine is slower.
expect.set_options(timeout=15_000)

# Locally a missing browser skips these tests; in CI (CI=true) it fails them. What the browser
# shows does not depend on the storage backend (tested on both elsewhere): the servers only.
pytestmark = [pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                 reason="Debian's chromium is not installed"),
              pytest.mark.parametrize("backend", ["server"], indirect=True)]


@pytest.fixture
async def site(
    environment: dict[str, str], settings: Settings, tmp_path: Path
) -> AsyncIterator[str]:
    """The real console process with a user of every role; yields its address."""
    history = await History.open(environment["DATABASE_URL"])
    for name, role in USERS.items():
        await Accounts(history, settings.password_time_cost, settings.password_memory_kib).add(
            name, role, PASSWORD, actor="test")
    await history.close()
    async with console(environment, tmp_path / "console.log") as url:
        LOGS[url] = tmp_path / "console.log"
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as instance:
        yield instance


async def log_in(page: Page, url: str, name: str) -> None:
    await page.goto(f"{url}/login")
    await page.get_by_label("Naam").fill(name)
    await page.get_by_label("Wachtwoord").fill(PASSWORD)
    await page.get_by_role("button", name="Inloggen").click()
    await page.wait_for_load_state()
    assert not page.url.endswith("/login"), LOGS[url].read_text()[-3000:]


async def ask(page: Page, text: str) -> None:
    await page.locator("#text").fill(text)
    await page.keyboard.press("Enter")


async def test_a_citizen_chats_on_the_web_page(site: str, browser: Browser) -> None:
    page = await browser.new_page(viewport=PHONE)
    await page.goto(f"{site}/chat")
    log = page.locator("#log")
    await expect(log.locator(".msg.out").first).to_contain_text("Balie")
    await expect(page.locator("#privacy")).to_contain_text("BSN")
    await ask(page, "wanneer moet ik de aanslag betalen?")
    await expect(log.locator(".msg.out").nth(1)).to_contain_text("30 april 2026")
    await expect(log.get_by_role("link", name=re.compile("betalingsregeling"))).to_be_visible()
    await log.get_by_role("button", name="Nuttig", exact=True).click()
    await expect(log.locator(".msg.out").nth(2)).to_be_visible()
    await accessible(page, "webchat-nl")
    await page.reload()
    await expect(log).to_contain_text("30 april 2026")
    english = await browser.new_page(viewport=PHONE)
    await english.goto(f"{site}/chat?lang=en")
    await ask(english, "when do I have to pay?")
    await expect(english.locator("#log .msg.out").nth(1)).to_contain_text("30 April 2026")
    await accessible(english, "webchat-en")


async def test_staff_take_over_reply_and_hand_back(site: str, browser: Browser) -> None:
    citizen = await browser.new_page(viewport=PHONE)
    alerts: list[str] = []
    await citizen.goto(f"{site}/chat")
    await expect(citizen.locator("#log .msg.out").first).to_be_visible()
    await ask(citizen, "ik wil een medewerker spreken")
    await citizen.locator("#log").get_by_role("button", name="Ja, graag").click()
    await expect(citizen.locator("#log")).to_contain_text("wachtrij")

    staff = await browser.new_page()
    staff.on("dialog", lambda dialog: alerts.append(dialog.message))
    await log_in(staff, site, "sam")
    waiting = staff.locator("#waiting a")
    await expect(waiting).to_have_count(1)
    await accessible(staff, "console-queue")
    await waiting.click()
    await staff.get_by_role("button", name="Chat overnemen").click()
    await expect(citizen.locator("#log")).to_contain_text("Sam")
    await ask(citizen, XSS)
    await expect(staff.locator("#messages")).to_contain_text(XSS)
    assert await staff.locator("#messages img").count() == 0
    await staff.get_by_label("Je bericht aan de burger").fill("Hoi, ik kijk even mee.")
    await staff.get_by_role("button", name="Versturen").click()
    await expect(citizen.locator("#log")).to_contain_text("Hoi, ik kijk even mee.")
    await accessible(staff, "console-chat")
    await staff.get_by_text("Teruggeven aan Balie…").click()
    await staff.get_by_role("button", name="Ja, teruggeven aan Balie").click()
    await expect(staff.locator("#state")).to_contain_text("Balie beantwoordt")
    await expect(citizen.locator("#log .msg.out").last).to_contain_text("1")
    await ask(citizen, "wanneer moet ik betalen?")
    await expect(citizen.locator("#log")).to_contain_text("30 april 2026")
    assert alerts == [], "citizen text ran as script"


async def test_supervisor_searches_exports_and_reads_the_dashboard(
    site: str, browser: Browser, tmp_path: Path
) -> None:
    citizen = await browser.new_page(viewport=PHONE)
    await citizen.goto(f"{site}/chat")
    await ask(citizen, XSS)
    await expect(citizen.locator("#log .msg.out").nth(1)).to_be_visible()
    await ask(citizen, "hoe vraag ik kwijtschelding aan?")
    await expect(citizen.locator("#log .msg.out").nth(2)).to_be_visible()

    page = await browser.new_page()
    alerts: list[str] = []
    page.on("dialog", lambda dialog: alerts.append(dialog.message))
    await log_in(page, site, "sue")
    await expect(page.locator("#conversations")).to_have_text("1")
    await expect(page.locator("#intents")).to_contain_text("Kwijtschelding")
    await accessible(page, "console-dashboard")
    await page.get_by_role("link", name="Gesprekken").click()
    await page.get_by_label("Tekst").fill("img")
    await page.get_by_role("button", name="Zoeken").click()
    results = page.locator("#results tbody tr")
    await expect(results).to_have_count(1)
    await expect(results).to_contain_text(XSS)
    await accessible(page, "console-log")
    async with page.expect_download() as download:
        await page.locator("#export").click()
    saved = tmp_path / "export.csv"
    await (await download.value).save_as(saved)
    assert XSS in saved.read_text("utf-8-sig")
    assert saved.read_bytes().startswith(b"\xef\xbb\xbftijd;"), "; and a BOM for Excel"
    await results.get_by_role("link").click()
    await expect(page.locator(".transcript")).to_contain_text(XSS)
    assert await page.locator(".transcript img").count() == 0
    await accessible(page, "console-transcript")
    await page.get_by_role("link", name="Aankondigingen").click()
    await page.get_by_label("Tekst (Nederlands, B1, kort)").fill(XSS)
    await page.get_by_label("Text (English)").fill("Notices arrive on 26 February.")
    await page.get_by_role("button", name="Publiceren").click()
    await expect(page.locator("#announcements")).to_contain_text(XSS)
    await accessible(page, "console-announcements")
    assert alerts == []


async def test_login_and_admin_pages_are_accessible(site: str, browser: Browser) -> None:
    page = await browser.new_page()
    await page.goto(f"{site}/login")
    await accessible(page, "console-login")
    await log_in(page, site, "ada")
    await expect(page.locator("#users")).to_contain_text("sue")
    await accessible(page, "console-users")
    await page.get_by_role("link", name="Auditlog").click()
    await expect(page.locator("#audit")).to_contain_text("login")
    await accessible(page, "console-audit")
