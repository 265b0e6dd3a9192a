"""The staff inbox in a real browser: alerts, live rows, replies, notes, stale tabs, errors.

One real `python -m bot console` process and one Chromium serve the whole module; each test
brings its own citizens. A web chat page that closes is abandoned after BALIE_ABANDON_MINUTES
(12 s here), so the citizens of one test leave the queue before long.
"""

import os
import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from bot.history.accounts import Accounts
from bot.history.log import Handoff, History
from tests.conftest import MODEL_CACHE, Servers, _empty_postgres, _flush, free_port
from tests.console.conftest import PASSWORD, USERS
from tests.console.test_browser import XSS
from tests.support.browser import CHROMIUM, DESKTOP, PHONE, accessible, chromium, console
from tests.support.facts import facts

ABANDON_MINUTES = "0.2"
# Records what the page does with notifications and sound, instead of the real ones.
SPY = """
window.spied = {asked: 0, shown: [], beeps: 0};
class FakeNotification {
  constructor(title, options) { window.spied.shown.push([title, options.body]); }
  static requestPermission() {
    window.spied.asked += 1; FakeNotification.permission = "granted";
    return Promise.resolve("granted");
  }
}
FakeNotification.permission = "default";
window.Notification = FakeNotification;
const tone = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.spied.beeps += 1;
  return tone.call(this); };
"""

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                       reason="Debian's chromium is not installed"),
    pytest.mark.asyncio(loop_scope="module"),
]


class Site:
    """The console process, the browser, and the database behind them."""

    def __init__(self, url: str, browser: Browser, database: str) -> None:
        self.url = url
        self.browser = browser
        self.database = database

    async def staff(self, name: str = "sam", viewport: dict[str, int] = DESKTOP,
                    ) -> tuple[BrowserContext, Page]:
        context = await self.browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        await context.add_init_script(SPY)
        page = await context.new_page()
        await page.goto(f"{self.url}/login")
        await page.get_by_label("Naam").fill(name)
        await page.get_by_label("Wachtwoord").fill(PASSWORD)
        await page.get_by_role("button", name="Inloggen").click()
        await expect(page.locator("h1")).not_to_have_text("Inloggen bij de console")
        return context, page

    async def citizen(self, question: str) -> Page:
        """A citizen on a phone who asks a question and then for a person: now queued."""
        page = await self.browser.new_page(viewport=PHONE)  # type: ignore[arg-type]
        await page.goto(f"{self.url}/chat")
        log = page.locator("#log")
        await expect(log.locator(".msg.out").first).to_be_visible()
        await say(page, question)
        await expect(log.locator(".msg.out")).to_have_count(2)
        await say(page, "ik wil een medewerker spreken")
        offer = log.locator(".msg.out").filter(has_text="met een medewerker chatten")
        await offer.get_by_role("button").first.click()
        await expect(log).to_contain_text("wachtrij")
        return page

    async def outcomes(self) -> dict[str, str]:
        history = await History.open(self.database)
        try:
            async with history.sessions() as session:
                rows = (await session.execute(select(Handoff.chat_id, Handoff.outcome))).all()
        finally:
            await history.close()
        return {chat: outcome for chat, outcome in rows}


async def say(page: Page, text: str) -> None:
    await page.locator("#text").fill(text)
    await page.keyboard.press("Enter")


async def inside(page: Page, selector: str) -> None:
    """Every element matched lies within the viewport's width: nothing to scroll sideways."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    for box in [await cell.bounding_box() for cell in await page.locator(selector).all()]:
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (selector, box)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(servers: Servers, tmp_path_factory: pytest.TempPathFactory,
               model: object) -> AsyncIterator[Site]:
    if servers.redis is None or servers.postgres is None:
        pytest.skip("no Redis server or PostgreSQL server on 127.0.0.1")
    _flush(servers.redis)
    await _empty_postgres(servers.postgres, servers.postgres_tables)
    folder = tmp_path_factory.mktemp("inbox")
    environment = {
        "REDIS_URL": servers.redis, "DATABASE_URL": servers.postgres,
        "BALIE_DATA_DIR": str(folder / "data"), "BALIE_CACHE_DIR": str(MODEL_CACHE),
        "BALIE_FACTS_DIR": facts(folder, open_now=True), "BALIE_FLOOD_PER_MINUTE": "1000",
        "BALIE_CONSOLE_PORT": str(free_port()), "BALIE_SEND_PER_SECOND": "100000",
        "BALIE_PASSWORD_TIME_COST": "1", "BALIE_PASSWORD_MEMORY_KIB": "64",
        "BALIE_ABANDON_MINUTES": ABANDON_MINUTES,
    }
    history = await History.open(servers.postgres)
    for name, role in USERS.items():
        await Accounts(history, 1, 64).add(name, role, PASSWORD, actor="test")
    await history.close()
    async with console(environment, folder / "console.log") as url, chromium() as browser:
        yield Site(url, browser, servers.postgres)


async def test_staff_are_alerted_when_a_chat_arrives(site: Site) -> None:
    context, staff = await site.staff()
    await expect(staff.locator("#live")).to_have_text("Deze pagina werkt zichzelf bij.")
    assert await staff.evaluate("window.spied.asked") == 0, "asked before a click"
    await accessible(staff, "inbox-queue-empty")
    await staff.get_by_role("button", name="Meldingen aanzetten").click()
    await expect(staff.get_by_role("button", name="Meldingen aanzetten")).to_be_hidden()
    assert await staff.evaluate("window.spied.asked") == 1
    sound = staff.get_by_role("button", name="Geluid bij een nieuwe chat")
    await sound.click()
    await expect(sound).to_have_attribute("aria-pressed", "true")
    beeps = await staff.evaluate("window.spied.beeps")

    citizen = await site.citizen(f"hoe vraag ik kwijtschelding aan? {XSS}")
    await expect(staff).to_have_title("(1) Wachtrij · Gemeente Voorbeeld")
    row = staff.locator("#waiting tbody tr")
    await expect(row).to_have_count(1)
    await expect(row.get_by_role("link")).to_have_text(f"hoe vraag ik kwijtschelding aan? {XSS}")
    for text in ("Kwijtschelding", "Webchat", "Nederlands", "minder dan 1 min"):
        await expect(row).to_contain_text(text)
    await expect(row).not_to_contain_text("web:")
    assert await staff.locator("#waiting img").count() == 0
    assert await staff.evaluate("window.spied.shown") == [
        ["Nieuwe chat in de wachtrij", "Kwijtschelding · Webchat"]]
    assert await staff.evaluate("window.spied.beeps") > beeps
    await accessible(staff, "inbox-queue-desktop")
    await staff.set_viewport_size(PHONE)
    await inside(staff, "#waiting td")
    await accessible(staff, "inbox-queue-phone")
    await citizen.close()
    await context.close()


async def test_a_staff_reply_keeps_the_scroll_position_and_notes_stay_internal(
    site: Site,
) -> None:
    citizen = await site.citizen("wanneer moet ik de aanslag betalen?")
    context, staff = await site.staff()
    await staff.locator("#waiting").get_by_role(
        "link", name="wanneer moet ik de aanslag betalen?").click()
    await expect(staff.locator("h1")).to_have_text("Chat: Wanneer betalen")
    await staff.get_by_role("button", name="Chat overnemen").click()
    await expect(citizen.locator("#log")).to_contain_text("overgenomen door Sam")
    box = staff.get_by_label("Je bericht aan de burger")
    await staff.get_by_label("Standaardantwoord invoegen").select_option(label="2. Bellen")
    await expect(box).to_have_value(re.compile(r"^Je kunt ons ook bellen op 14 0123\. We zijn "
                                               r"er maandag t/m zondag .+ uur\.$"))
    await box.fill("")
    await box.press("Alt+1")
    await expect(box).to_have_value("Een moment, ik zoek het voor je uit.")
    await box.press("Shift+Enter")
    await box.press_sequentially("Tweede regel")
    await expect(box).to_have_value("Een moment, ik zoek het voor je uit.\nTweede regel")

    await staff.evaluate("window.notReloaded = true")
    await box.scroll_into_view_if_needed()
    await staff.evaluate("window.scrollBy({top: 60, behavior: 'instant'})")
    scrolled = await staff.evaluate("window.scrollY")
    assert scrolled > 0, "the page is long enough to scroll"
    before = await box.bounding_box()
    await box.press("Enter")
    await expect(citizen.locator("#log")).to_contain_text("Tweede regel")
    await expect(staff.locator("#messages .msg").last).to_contain_text("Tweede regel")
    await expect(staff.locator("#messages .msg").last).to_be_in_viewport()
    await expect(box).to_have_value("")
    assert await staff.evaluate("window.notReloaded") is True
    # Where the person was reading stays put: the page did not jump, the box did not move.
    after = await box.bounding_box()
    assert before and after and abs(after["y"] - before["y"]) < 2, (before, after)
    assert await staff.evaluate("window.scrollY") >= scrolled

    await staff.get_by_label("Nieuwe notitie").fill("Belt terug op 0612345678, geduldig zijn")
    await staff.get_by_role("button", name="Notitie opslaan").click()
    await expect(staff.locator("#notes")).to_contain_text("Belt terug op [phone], geduldig")
    await expect(staff.locator("#notes .who")).to_contain_text("sam")
    await accessible(staff, "inbox-chat-desktop")
    await staff.set_viewport_size(PHONE)
    await inside(staff, "#messages .msg, #reply, #notes")
    await accessible(staff, "inbox-chat-phone")
    await expect(citizen.locator("#log")).not_to_contain_text("geduldig")

    await staff.set_viewport_size(DESKTOP)
    await staff.get_by_text("Teruggeven aan Balie…").click()
    await accessible(staff, "inbox-chat-hand-back")
    await staff.get_by_role("button", name="Ja, teruggeven aan Balie").click()
    await expect(staff.locator("#state")).to_have_text("Balie beantwoordt deze chat.")
    await citizen.close()
    await context.close()


async def test_a_stale_tab_reply_is_kept_and_explained_and_survives_a_new_login(
    site: Site,
) -> None:
    citizen = await site.citizen("mijn WOZ-waarde klopt niet")
    context, staff = await site.staff()
    await staff.locator("#waiting").get_by_role("link", name="mijn WOZ-waarde klopt niet").click()
    await staff.get_by_role("button", name="Chat overnemen").click()
    box = staff.get_by_label("Je bericht aan de burger")
    await box.fill("Ik bel je morgen om tien uur")
    other = await context.new_page()  # the same user's second tab gives the chat to sue
    await other.goto(staff.url)
    await other.get_by_label("Overdragen aan").select_option(label="sue")
    await other.get_by_role("button", name="Overdragen").click()
    await expect(staff.locator("#state")).to_have_text("sue heeft deze chat.")
    await box.press("Enter")
    await expect(staff.locator("#reply-status")).to_have_text(
        "Je bericht is niet verstuurd: sue heeft deze chat nu. Je tekst staat nog in het vak.")
    await expect(box).to_have_value("Ik bel je morgen om tien uur")
    await expect(citizen.locator("#log")).not_to_contain_text("morgen om tien uur")
    await accessible(staff, "inbox-chat-stale")

    sue_context, sue = await site.staff("sue")
    await sue.get_by_role("link", name="Wachtrij").click()
    await expect(sue.locator("#mine")).to_contain_text("mijn WOZ-waarde klopt niet")
    await sue.locator("#mine").get_by_role("link").click()
    await sue.get_by_label("Overdragen aan").select_option(label="sam")
    await sue.get_by_role("button", name="Overdragen").click()
    await expect(staff.locator("#state")).to_have_text(
        "Je hebt deze chat. Balie is stil tot je hem teruggeeft.")
    await expect(box).to_have_value("Ik bel je morgen om tien uur")

    await other.get_by_role("button", name="Uitloggen").click()  # the session ends
    await expect(staff.get_by_role("alert").filter(has_text="niet meer ingelogd")).to_be_visible()
    await accessible(staff, "inbox-chat-expired")
    await staff.get_by_role("link", name="Opnieuw inloggen").click()
    await staff.get_by_label("Naam").fill("sam")
    await staff.get_by_label("Wachtwoord").fill(PASSWORD)
    await staff.get_by_role("button", name="Inloggen").click()
    await expect(staff.get_by_label("Je bericht aan de burger")).to_have_value(
        "Ik bel je morgen om tien uur")
    await staff.get_by_label("Je bericht aan de burger").press("Enter")
    await expect(citizen.locator("#log")).to_contain_text("morgen om tien uur")
    await citizen.close()
    await context.close()
    await sue_context.close()


async def test_an_abandoned_chat_leaves_the_queue_and_the_estimate(site: Site) -> None:
    context, staff = await site.staff()
    await expect(staff.locator("#waiting tbody tr")).to_have_text("Niemand wacht.")
    gone = await site.citizen("wat is de hondenbelasting?")
    stays = await site.citizen("hoe zit het met de afvalstoffenheffing?")
    await expect(staff).to_have_title("(2) Wachtrij · Gemeente Voorbeeld")
    await gone.close()
    rows = staff.locator("#waiting tbody tr")
    await expect(rows).to_have_count(1, timeout=60_000)
    await expect(rows).to_contain_text("afvalstoffenheffing")
    await expect(staff).to_have_title("(1) Wachtrij · Gemeente Voorbeeld")
    later = await site.citizen("ik heb een vraag over de rioolheffing")
    await expect(later.locator("#log")).to_contain_text("nummer 2")
    assert "abandoned" in (await site.outcomes()).values()
    await stays.close()
    await later.close()
    await context.close()


async def test_errors_are_pages_for_people_and_json_for_programs(site: Site) -> None:
    context, staff = await site.staff()
    await staff.goto(f"{site.url}/supervisor")
    await expect(staff.locator("h1")).to_have_text("Geen toegang")
    await accessible(staff, "inbox-error-403")
    await staff.goto(f"{site.url}/staff/chats/web:nothing")
    await expect(staff.locator("h1")).to_have_text("Niet gevonden")
    await staff.get_by_role("link", name="Naar de wachtrij").click()
    await expect(staff.locator("h1")).to_have_text("Wachtrij")
    answer = await staff.request.get(f"{site.url}/staff/chats/web:nothing/messages.json",
                                     headers={"Accept": "application/json"})
    assert answer.status == 404 and "detail" in await answer.json()
    await context.close()
