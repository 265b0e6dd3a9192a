"""Supervisor pages: search the log, export it, read a transcript, and the dashboard's numbers."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import select

from bot.console.charts import bars
from bot.console.pages import duration, number
from bot.history.audit import Audit
from bot.history.log import Entry
from bot.history.reports import LogFilter, Reports
from bot.nlu import content
from bot.replies.labels import load as load_labels
from bot.settings import PROJECT_DIR
from tests.console.conftest import Citizen, Web, log_in


async def conversations(client: httpx.AsyncClient) -> tuple[Citizen, Citizen]:
    """Two citizens: one understood in Dutch, one not understood at all in English."""
    dutch, english = Citizen(client), Citizen(client)
    await dutch.start()
    await dutch.say("wanneer moet ik de aanslag betalen? mail me op jan@example.org")
    await english.start("en")
    await english.say("=HYPERLINK(\"http://evil.example\") qwzx blorp vlek")
    return dutch, english


async def test_search_filters_and_masks(web: Web, client: httpx.AsyncClient) -> None:
    dutch, english = await conversations(client)
    reports = Reports(web.balie.history, web.services.settings.nlu_threshold,
                      web.services.town.timezone)
    everything = await reports.search(LogFilter())
    assert {row.chat_id for row in everything} == {dutch.chat_id, english.chat_id}
    assert all(row.channel == "web" for row in everything)
    found = await reports.search(LogFilter(text="aanslag"))
    assert [row.chat_id for row in found] == [dutch.chat_id]
    assert "jan@example.org" not in found[0].text, "e-mail addresses are masked in the log"
    failed = await reports.search(LogFilter(fallback=True))
    assert [row.chat_id for row in failed] == [english.chat_id]
    assert [r.chat_id for r in await reports.search(LogFilter(language="nl", text="aanslag"))
            ] == [dutch.chat_id]
    assert not await reports.search(LogFilter(language="en", text="aanslag"))
    assert not await reports.search(LogFilter(channel="telegram"))
    assert await reports.search(LogFilter(intent="payment_deadline"))
    assert not await reports.search(LogFilter(handed_off=True))
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert not await reports.search(LogFilter(start=tomorrow))
    assert not await reports.search(LogFilter(text="100%_"))


async def audited(web: Web, action: str) -> list[tuple[str, str | None]]:
    """Return who did an audited action, and its detail, oldest first."""
    async with web.balie.history.sessions() as session:
        rows = (await session.scalars(select(Audit).where(Audit.action == action)
                                      .order_by(Audit.id))).all()
    return [(row.actor, row.detail) for row in rows]


async def test_the_log_page_and_csv_export(web: Web, client: httpx.AsyncClient) -> None:
    dutch, english = await conversations(client)
    # 20:47 UTC on a winter evening is 21:47 in Amsterdam (+01:00).
    evening = datetime(2026, 12, 2, 20, 47, 5, tzinfo=UTC)
    await web.balie.history.record([Entry("tg:7", "telegram", "in", "text",
                                          "Wat kost € 12,50 voor één hond?", "nl")], evening)
    await log_in(client, "sue")
    page = (await client.get("/supervisor/log", params={"fallback": "1"})).text
    assert english.chat_id in page and dutch.chat_id not in page
    assert "02-12-2026 21:47" in (await client.get("/supervisor/log")).text
    assert ">Wanneer betalen<" in (await client.get("/supervisor/log")).text, "a Dutch label"
    export = await client.get("/supervisor/log.csv")
    assert export.headers["content-type"].startswith("text/csv")
    assert export.content.startswith(b"\xef\xbb\xbf"), "a UTF-8 byte-order mark for Excel"
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["tijd", "chat", "kanaal", "taal", "onderwerp", "intent", "zekerheid",
                       "tekst"] and len(rows) == 6
    by_chat = {row[1]: row for row in rows[1:]}
    assert by_chat["tg:7"][0] == "2026-12-02T21:47:05+01:00"
    assert by_chat["tg:7"][-1] == "Wat kost € 12,50 voor één hond?"
    asked = next(row for row in rows if row[5] == "payment_deadline")
    assert asked[4] == "Wanneer betalen" and "," in asked[6], "a Dutch decimal comma"
    assert any(row[-1].startswith("'=HYPERLINK") for row in rows), "no formula run by Excel"
    assert await audited(web, "export") == [("sue", "5 rows; ")]

    transcript = (await client.get(f"/supervisor/chats/{dutch.chat_id}")).text
    assert "wanneer moet ik de aanslag betalen?" in transcript
    assert "jan@example.org" not in transcript
    download = await client.get(f"/supervisor/chats/{dutch.chat_id}/transcript.csv")
    assert download.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in download.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == ["tijd", "van", "soort", "onderwerp", "tekst"]
    assert [line[1] for line in lines[1:3]] == ["burger", "balie"]
    assert any("aanslag betalen" in line[-1] for line in lines)
    assert not any("jan@example.org" in line[-1] for line in lines), "masked, as stored"
    assert await audited(web, "transcript_export") == [
        ("sue", f"{dutch.chat_id}; {len(lines) - 1} rows")]


async def test_dashboard_answers_what_was_asked_and_where_balie_failed(
    web: Web, client: httpx.AsyncClient
) -> None:
    await conversations(client)
    extra = Citizen(client)
    await extra.start()
    answer = await extra.say("wanneer moet ik de aanslag betalen?")
    thumbs = {b["title"]: b["data"] for b in answer[-1]["buttons"]}
    await extra.say(button=thumbs["👎"])
    reports = Reports(web.balie.history, web.services.settings.nlu_threshold,
                      web.services.town.timezone)
    report = await reports.dashboard(7)
    assert report.total_conversations == 3
    assert report.conversations[-1] == 3 and sum(report.conversations[:-1]) == 0
    assert report.messages[-1] == 7, "3 /start commands, 3 questions and a thumbs down"
    assert report.top_intents == [("payment_deadline", 2)], "the gibberish is not counted"
    assert report.unhelpful == [("payment_deadline", 0, 1)] and report.useful == (0, 1)
    assert report.turns == 3 and report.fallbacks == 1
    assert round(report.fallback_rate, 2) == 0.33 and report.handoff_rate == 0
    assert report.not_understood[0].text.startswith("=HYPERLINK")

    await log_in(client, "sue")
    page = (await client.get("/supervisor")).text
    assert 'id="conversations">3<' in page and 'id="fallback-rate">33%<' in page
    assert "payment_deadline" in page and "HYPERLINK" in page
    assert ">Wanneer betalen</a>" in page, "intents by their Dutch label"
    assert 'id="unhelpful"' in page
    assert '<th scope="row">' + web.services.town.now().strftime("%d-%m") + "</th>" in page
    assert 'class="axis"' in page and '<text class="value"' in page


async def test_an_announcement_published_changed_and_withdrawn_in_the_console(
    web: Web, client: httpx.AsyncClient
) -> None:
    token = await log_in(client, "sue")
    today = web.services.town.now().date()
    last = today + timedelta(days=13)
    form = {"csrf": token, "text_nl": "Let op: de aanslagen 2027 komen op 26 februari.",
            "text_en": "Note: the 2027 notices arrive on 26 February.", "topic": "aanslag",
            "valid_from": today.isoformat(), "valid_until": last.isoformat(), "inline": "1"}
    for wrong, message in (
            ({"valid_until": (today - timedelta(days=1)).isoformat()},
             "De laatste dag mag niet voor de eerste dag liggen."),
            ({"valid_from": "15-13-2026"}, "Vul bij Vanaf een datum in, zoals 15-12-2026."),
            ({"text_en": " "}, "Vul de Engelse tekst in.")):
        refused = await client.post("/supervisor/announcements", data={**form, **wrong})
        assert refused.status_code == 400 and message in refused.text
        assert ">Let op: de aanslagen 2027 komen op 26 februari.</textarea>" in refused.text, (
            "what was typed is kept")
    typed = {**form, "valid_until": last.strftime("%d-%m-%Y")}  # typed without a date picker
    published = await client.post("/supervisor/announcements", data=typed,
                                  follow_redirects=True)
    assert "De aankondiging is gepubliceerd." in published.text
    assert f"t/m {last.strftime('%d-%m-%Y')}" in published.text, "the last day, as typed"
    citizen = Citizen(client)
    await citizen.start()

    async def shown() -> str:
        answer = await citizen.say("wanneer moet ik de aanslag betalen?")
        return " ".join(str(r["text"]) for r in answer)

    assert "de aanslagen 2027 komen op 26 februari" in await shown()
    other = await citizen.say("hoeveel hondenbelasting betaal ik voor 1 hond?")
    assert "26 februari" not in " ".join(str(r["text"]) for r in other)

    [(_, number)] = await audited(web, "announce")
    editing = (await client.get(f"/supervisor/announcements/{number}")).text
    assert f'value="{last.isoformat()}"' in editing and "Wijziging opslaan" in editing
    changed = await client.post(
        f"/supervisor/announcements/{number}", follow_redirects=True,
        data={**form, "text_nl": "Let op: de aanslagen komen op 27 februari."})
    assert "De aankondiging is gewijzigd." in changed.text and "27 februari" in changed.text
    assert "27 februari" in await shown()
    confirm = (await client.get(f"/supervisor/announcements/{number}/withdraw")).text
    assert "Ja, intrekken" in confirm and "27 februari" in confirm
    withdrawn = await client.post(f"/supervisor/announcements/{number}/withdraw",
                                  data={"csrf": token}, follow_redirects=True)
    assert "is ingetrokken" in withdrawn.text and "27 februari" not in withdrawn.text
    assert "februari" not in await shown()
    assert await audited(web, "announcement_change") == [("sue", number)]
    assert await audited(web, "announcement_withdraw") == [("sue", number)]


async def test_a_poll_is_created_answered_read_and_closed(
    web: Web, client: httpx.AsyncClient
) -> None:
    token = await log_in(client, "sue")
    form = {"csrf": token, "question_nl": "Is de brief over de WOZ duidelijk?",
            "question_en": "Is the WOZ letter clear?", "options_nl": "Ja\nNee\nGaat wel",
            "options_en": "Yes\nNo", "after_intent": "woz_value", "free_text": "1"}
    refused = await client.post("/supervisor/polls", data=form)
    assert refused.status_code == 400
    assert "Geef evenveel Engelse keuzes als Nederlandse (3)" in refused.text
    assert "Gaat wel</textarea>" in refused.text and "WOZ duidelijk?</textarea>" in refused.text
    created = await client.post("/supervisor/polls", follow_redirects=True,
                                data={**form, "options_en": "Yes\nNo\nSo-so"})
    assert "De peiling is aangemaakt" in created.text
    [(_, number)] = await audited(web, "poll_create")
    polls = web.services.polls
    for chat, choice in (("tg:1", 0), ("tg:2", 0), ("tg:3", 2)):
        assert await polls.vote(int(number), chat, choice, "woz_value")
    await polls.comment(int(number), "tg:3", "Te lang, bel me op 0612345678")
    page = (await client.get(f"/supervisor/polls/{number}")).text
    assert "3 stemmen" in page and "gesteld na vragen over WOZ-waarde" in page
    assert '<th scope="row">Ja</th><td class="num">2</td>' in page, "the table beside the chart"
    assert page.count('<rect class="bar-0"') == 3 and 'class="axis"' in page
    assert "Te lang" in page and "0612345678" not in page
    assert "Na vragen over WOZ-waarde" in page
    listing = (await client.get("/supervisor/polls")).text
    assert "WOZ duidelijk?" in listing and ">open<" in listing
    assert "Peiling sluiten?" in (await client.get(f"/supervisor/polls/{number}/close")).text
    closed = await client.post(f"/supervisor/polls/{number}/close", data={"csrf": token},
                               follow_redirects=True)
    assert "De peiling is gesloten." in closed.text and "Gesloten · 3 stemmen" in closed.text
    assert not await polls.vote(int(number), "tg:4", 1, None), "a closed poll takes no votes"
    assert await polls.after("woz_value") is None, "nor is it asked"
    assert await audited(web, "poll_close") == [("sue", number)]


def test_labels_name_every_intent_and_form_in_dutch_and_english() -> None:
    loaded = content.load(PROJECT_DIR / "intents")
    labels = load_labels(PROJECT_DIR / "intents" / "labels.yml")
    assert set(labels.intents) == set(loaded.contract) and set(labels.forms) == set(loaded.forms)
    assert all(label["nl"] and label["en"] for label in (*labels.intents.values(),
                                                         *labels.forms.values()))
    assert labels("remission") == "Kwijtschelding" and labels("remission", "en") == "Remission"
    assert labels("form:tax_form") == "Formulier: bedrag berekenen"
    assert labels("own_intent") == "own_intent" and labels(None) == ""


def test_numbers_and_durations_are_written_the_dutch_way() -> None:
    assert [number(1234), number(0.4, 1), number(None)] == ["1.234", "0,4", "\u2013"]
    assert [duration(24), duration(0.4 * 60), duration(270), duration(4320)] == [
        "24 s", "24 s", "4,5 min", "1,2 uur"]
    chart = bars("Stemmen", ("stemmen",), ["Ja", "Nee"], [[1234], [0]])
    assert [label for _, label in chart.ticks] == ["0", "500", "1.000", "1.500"]
    assert [bar.value for bar in chart.bars] == ["1.234", "0"]


async def test_days_are_the_municipalitys_days(web: Web) -> None:
    # 23:30 UTC on 1 December is 00:30 on 2 December in Amsterdam.
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    await web.balie.history.record([Entry("tg:8", "telegram", "in", "text", "hallo", "nl")],
                                   late)
    reports = Reports(web.balie.history, web.services.settings.nlu_threshold,
                      web.services.town.timezone)
    second = date(2026, 12, 2)
    assert [row.chat_id for row in await reports.search(LogFilter(start=second, end=second))
            ] == ["tg:8"]
    assert not await reports.search(LogFilter(end=date(2026, 12, 1)))
    report = await reports.dashboard(2, today=second)
    assert report.messages == [0, 1], "counted on 2 December"
