"""What a supervisor sees in a real browser, on a desktop and on a phone.

One console process and one browser: the dashboard with its chart and table, the log with
Dutch labels and local times, a transcript downloaded, announcements refused, published and
withdrawn, a poll created and closed, and the admin's pages. axe-core finds no violation of any
impact on any of them, and no page is wider than a phone.
"""

from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.console.conftest import Citizen
from tests.console.test_browser import browser, log_in, pytestmark, site
from tests.support.browser import DESKTOP, PHONE, accessible

__all__ = ["browser", "pytestmark", "site"]  # pytestmark: chromium needed, and its backends


async def seen(page: Page, name: str) -> None:
    """Save a screenshot; no axe-core violation of any impact; nothing wider than the window."""
    await accessible(page, f"supervisor-{name}")
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name}: the page is {overflow} px wider than the window"


async def inside(page: Page, selector: str) -> None:
    """The element is shown, at least 100 px high, and lies within the window's width."""
    box = await page.locator(selector).first.bounding_box()
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert box and box["height"] >= 100 and box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= width, (selector, box)


async def test_a_supervisor_reads_exports_announces_and_polls(
    site: str, browser: Browser, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=60) as client:
        citizen = Citizen(client)
        await citizen.start()
        await citizen.say("hoe vraag ik kwijtschelding aan?")
        await citizen.say("reken mijn ozb uit")
        await citizen.say("3000")
    desktop = await browser.new_page(viewport=DESKTOP, locale="nl-NL")
    phone = await browser.new_page(viewport=PHONE, locale="nl-NL")
    for page in (desktop, phone):
        await log_in(page, site, "sue")

    for page, size in ((desktop, "desktop"), (phone, "phone")):
        await page.goto(f"{site}/supervisor")
        intents = page.locator("#intents")
        await expect(intents).to_contain_text("Kwijtschelding")
        await expect(intents).to_contain_text("Bedrag berekenen")
        await expect(intents).not_to_contain_text("Formulier")  # "3000" is no question
        await inside(page, "svg.chart")
        await inside(page, "#per-day-chart-table")
        await seen(page, f"dashboard-{size}")
        await page.goto(f"{site}/supervisor?days=90")
        await expect(page.locator("#per-day-chart-table tbody tr")).to_have_count(90)
        await inside(page, "svg.chart")
        await seen(page, f"dashboard-90-{size}")
        await page.goto(f"{site}/supervisor/log")
        await expect(page.locator("#results")).to_contain_text("Formulier: bedrag berekenen")
        await seen(page, f"log-{size}")

    await desktop.locator("#results a").last.click()
    await expect(desktop.locator(".transcript")).to_contain_text("kwijtschelding")
    async with desktop.expect_download() as download:
        await desktop.get_by_role("link", name="Gesprek downloaden (CSV)").click()
    saved = tmp_path / "transcript.csv"
    await (await download.value).save_as(saved)
    assert saved.read_bytes().startswith(b"\xef\xbb\xbftijd;van;")
    await seen(desktop, "transcript-desktop")

    for page, size in ((desktop, "desktop"), (phone, "phone")):
        await page.goto(f"{site}/supervisor/announcements")
        dutch = page.get_by_label("Tekst (Nederlands, B1, kort)")
        await dutch.fill(f"Storing in het loket ({size})")
        await page.get_by_label("Text (English)").fill("The portal is down.")
        await page.get_by_label("Vanaf").fill("2026-12-15")
        await page.get_by_label("Tot en met").fill("2026-12-10")
        await page.get_by_role("button", name="Publiceren").click()
        await expect(page.locator("#errors")).to_contain_text("niet voor de eerste dag")
        await expect(dutch).to_have_value(f"Storing in het loket ({size})")
        await seen(page, f"announcement-refused-{size}")
        await page.get_by_label("Vanaf").fill("2026-12-01")
        await page.get_by_label("Tot en met").fill("2099-12-15")
        await page.get_by_role("button", name="Publiceren").click()
        row = page.locator("#announcements tr", has_text=f"({size})")
        await expect(row).to_contain_text("t/m 15-12-2099")
        await seen(page, f"announcements-{size}")
    await phone.locator("#announcements tr", has_text="(phone)").get_by_role(
        "link", name="Intrekken").click()
    await expect(phone.get_by_role("heading", level=1)).to_have_text("Aankondiging intrekken?")
    await seen(phone, "withdraw-phone")
    await phone.get_by_role("button", name="Ja, intrekken").click()
    await expect(phone.locator("#done")).to_contain_text("ingetrokken")
    await expect(phone.locator("#announcements")).not_to_contain_text("(phone)")

    await desktop.get_by_role("link", name="Peilingen").click()
    await desktop.get_by_label("Vraag (Nederlands, B1, kort)").fill("Is de aanslag duidelijk?")
    await desktop.get_by_label("Question (English)").fill("Is the notice clear?")
    await desktop.get_by_label("Keuzes in het Nederlands").fill("Ja\nNee")
    await desktop.get_by_role("button", name="Peiling aanmaken").click()
    await expect(desktop.locator("#errors")).to_contain_text("Geef evenveel Engelse keuzes")
    await expect(desktop.get_by_label("Keuzes in het Nederlands")).to_have_value("Ja\nNee")
    await seen(desktop, "poll-refused-desktop")
    await desktop.get_by_label("Choices in English").fill("Yes\nNo")
    await desktop.get_by_label("Stellen na een antwoord over").select_option(
        label="Uitleg aanslag")
    await desktop.get_by_role("button", name="Peiling aanmaken").click()
    await expect(desktop.locator("#poll-state")).to_contain_text("Open · 0 stemmen")
    await inside(desktop, "svg.chart")
    await seen(desktop, "poll-desktop")
    await phone.goto(desktop.url.split("?")[0])
    await seen(phone, "poll-phone")
    await phone.goto(f"{site}/supervisor/polls")
    await expect(phone.locator("#polls")).to_contain_text("Uitleg aanslag")
    await seen(phone, "polls-phone")
    await desktop.get_by_role("link", name="Peiling sluiten").click()
    await seen(desktop, "poll-close-desktop")
    await desktop.get_by_role("button", name="Ja, sluiten").click()
    await expect(desktop.locator("#poll-state")).to_contain_text("Gesloten")
    await phone.goto(f"{site}/supervisor/comments")
    await seen(phone, "comments-phone")

    admin = await browser.new_page(viewport=PHONE, locale="nl-NL")
    await log_in(admin, site, "ada")
    await seen(admin, "users-phone")
    await admin.goto(f"{site}/admin/audit")
    audit = admin.locator("#audit")
    for action in ("transcript_export", "announcement_withdraw", "poll_create", "poll_close"):
        await expect(audit).to_contain_text(action)
    await seen(admin, "audit-phone")
