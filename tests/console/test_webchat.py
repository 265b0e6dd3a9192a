"""The web chat over real HTTP: the pipeline Telegram uses, private per citizen, with handoff."""

import asyncio
import time

import httpx
import pytest

from bot.console import create_app, serve
from bot.history.masking import mask
from bot.settings import Settings
from tests.console.conftest import Citizen, Web, from_address, log_in

XSS = "<img src=x onerror=alert(1)>"


async def eventually(check: object, timeout: float = 10.0) -> list[dict[str, object]]:
    """Poll the citizen's outbox until something arrives."""
    assert isinstance(check, Citizen)
    collected: list[dict[str, object]] = []
    for _ in range(int(timeout / 0.1)):
        collected += await check.collect()
        if collected:
            return collected
        await asyncio.sleep(0.1)
    raise AssertionError("nothing arrived")


async def test_a_citizen_gets_answers_in_dutch_and_english(client: httpx.AsyncClient) -> None:
    citizen = Citizen(client)
    greeting = await citizen.start()
    assert "Balie" in str(greeting[0]["text"])
    answer = await citizen.say("wanneer moet ik de aanslag betalen?")
    assert "30 april 2026" in str(answer[0]["text"])
    english = await citizen.say("when is the deadline to pay my tax bill?")
    assert "30 April 2026" in str(english[0]["text"])


async def test_buttons_work_and_a_forged_press_is_refused(client: httpx.AsyncClient) -> None:
    citizen = Citizen(client)
    await citizen.start()
    answer = await citizen.say("wanneer moet ik betalen")
    buttons = answer[-1]["buttons"]
    assert isinstance(buttons, list) and buttons
    forged = await citizen.say(button="abc:0")
    assert "werkt niet meer" in str(forged[0]["text"])
    pressed = await citizen.say(button=buttons[0]["data"])
    assert pressed and pressed[0]["text"]


async def test_a_token_names_one_chat_and_cannot_be_forged(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.url) as one, \
            httpx.AsyncClient(base_url=web.url) as other:
        alice, bob = Citizen(one), Citizen(other)
        await alice.start()
        await bob.start()
        await alice.say("mijn email is alice@example.org, wanneer betalen?")
        history = (await other.get("/chat/api/history",
                                   headers={"X-Chat-Token": bob.token})).json()["messages"]
        assert all("alice" not in m["text"] for m in history)
        forged = alice.token[:-3] + ("aaa" if not alice.token.endswith("aaa") else "bbb")
        for path in ("/chat/api/history", "/chat/api/poll"):
            assert (await other.get(path, headers={"X-Chat-Token": forged})).status_code == 401
        response = await other.post("/chat/api/send", json={"text": "hoi"},
                                    headers={"X-Chat-Token": forged})
        assert response.status_code == 401


async def test_bad_input_gets_a_clear_answer(client: httpx.AsyncClient) -> None:
    citizen = Citizen(client)
    await citizen.start()
    long = await citizen.say("a" * 10_000)
    assert "4096" in str(long[0]["text"]) or "lang" in str(long[0]["text"])
    empty = await citizen.say("   ")
    assert empty and empty[0]["text"]
    broken = await client.post("/chat/api/send", content=b'{"text": "\xff\xfe"}',
                               headers={"X-Chat-Token": citizen.token,
                                        "Content-Type": "application/json"})
    assert broken.status_code == 400


async def test_staff_take_over_a_web_chat_in_the_console(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as browser, \
            httpx.AsyncClient(base_url=web.url, timeout=30) as console:
        citizen = Citizen(browser)
        await citizen.start()
        offer = await citizen.say("ik wil een medewerker spreken")
        assert offer[-1]["buttons"], offer
        queued = await citizen.say("ja")
        assert "wachtrij" in str(queued[0]["text"]).lower() or "plek" in str(queued[0]["text"])
        chat = citizen.chat_id
        await citizen.say(f"mijn vraag gaat over {XSS}")

        token = await log_in(console, "sam")
        queue = (await console.get("/staff/queue.json")).json()
        assert [item["chat"] for item in queue["waiting"]] == [chat]
        page = (await console.get(f"/staff/chats/{chat}")).text
        assert "&lt;img src=x onerror=alert(1)&gt;" in page and XSS not in page

        assert (await console.post(f"/staff/chats/{chat}/claim",
                                   data={"csrf": token})).status_code == 303
        claimed = await eventually(citizen)
        assert "Sam" in str(claimed[0]["text"]), "the login name with a capital"
        assert (await console.post(f"/staff/chats/{chat}/reply",
                                   data={"csrf": token, "text": "Hoi, ik help je."})
                ).status_code == 303
        told = await eventually(citizen)
        assert told[0]["text"] == "Hoi, ik help je." and told[0]["staff"] == "Sam"
        assert await citizen.say("dank je") == [], "the bot is quiet while staff have the chat"
        update = (await console.get(f"/staff/chats/{chat}/messages.json")).json()
        assert update["mine"] and any(m["text"] == "dank je" for m in update["messages"])

        assert (await console.post(f"/staff/chats/{chat}/close",
                                   data={"csrf": token})).status_code == 303
        closed = await eventually(citizen)
        assert closed[0]["buttons"], "the citizen is asked to rate the help"
        answer = await citizen.say("wanneer moet ik betalen?")
        assert "30 april 2026" in str(answer[0]["text"]), "Balie answers again"


async def test_only_the_owner_replies_and_hands_back(web: Web) -> None:
    async with httpx.AsyncClient(base_url=web.url) as browser, \
            httpx.AsyncClient(base_url=web.url) as sam, \
            httpx.AsyncClient(base_url=web.url) as sue:
        citizen = Citizen(browser)
        await citizen.start()
        await citizen.say("ik wil een mens spreken")
        await citizen.say("ja")
        chat = citizen.chat_id
        sam_token, sue_token = await log_in(sam, "sam"), await log_in(sue, "sue")
        await sam.post(f"/staff/chats/{chat}/claim", data={"csrf": sam_token})
        lost = await sue.post(f"/staff/chats/{chat}/claim", data={"csrf": sue_token})
        assert lost.status_code == 303
        assert "sam heeft deze chat" in (await sue.get(f"/staff/chats/{chat}")).text
        for action in ("reply", "close", "release"):
            response = await sue.post(f"/staff/chats/{chat}/{action}",
                                      data={"csrf": sue_token, "text": "ik ook"})
            assert response.status_code == 409, action
        page = await sue.post(f"/staff/chats/{chat}/reply", headers={"Accept": "text/html"},
                              data={"csrf": sue_token, "text": "ik ook"})
        assert page.status_code == 409 and "<h1>Dat kan nu niet</h1>" in page.text
        assert "niet verstuurd: sam heeft deze chat nu" in page.text
        queue = (await sue.get("/staff/queue.json")).json()
        assert [(row["chat"], row["language"], row["channel"], row["owner"])
                for row in queue["active"]] == [(chat, "Nederlands", "Webchat", "sam")]


async def test_new_chats_from_one_address_are_limited(web: Web) -> None:
    # The limit counts per clock minute: a run that straddles a minute boundary is repeated
    # from a new address, so where in the minute the test starts does not matter.
    for attempt in range(1, 4):
        minute = int(time.time() // 60)
        async with from_address(web, f"127.0.9.{attempt}") as client:
            statuses = [(await client.post("/chat/api/start", json={})).status_code
                        for _ in range(60)]
            refused = await client.post("/chat/api/start", json={})
        if int(time.time() // 60) == minute:
            break
    assert statuses == [200] * 60
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"


async def test_a_flooding_chat_gets_one_notice_then_429_with_retry_after(web: Web) -> None:
    web.balie.flood_per_minute = 3
    async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
        # The limit counts per clock minute: a run straddling a minute is repeated in a new chat.
        for _ in range(3):
            minute = int(time.time() // 60)
            citizen = Citizen(client)
            await citizen.start()  # the first turn of the minute
            answers = [await citizen.say(f"hoi {n}") for n in range(3)]
            refused = await client.post("/chat/api/send", json={"text": "hoi"},
                                        headers={"X-Chat-Token": citizen.token})
            if int(time.time() // 60) == minute:
                break
    flood = web.balie.renderer.render("utter_flood", "nl").text
    assert [str(a[0]["text"]) for a in answers[2:]] == [flood]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    logged = await web.services.history.conversation(citizen.chat_id)
    assert "hoi" not in [m.text for m in logged], "the refused text is not stored"


async def test_english_page_starts_in_english(client: httpx.AsyncClient) -> None:
    greeting = await Citizen(client).start("en")
    assert "Hi" in str(greeting[0]["text"]) or "Hello" in str(greeting[0]["text"])


async def test_staff_see_a_callback_number_but_a_message_masked(
    web: Web, client: httpx.AsyncClient
) -> None:
    desk, cases = web.services.desk, web.services.cases
    call = "bel me op 0612345678"
    task = await cases.task("web:callback", "nl", None, mask(call), kind="callback")
    await desk.keep_numbers("web:callback", task, call)
    await cases.task("web:message", "nl", None, mask("mail naar a@b.nl of 0612345678"),
                     kind="message")
    await log_in(client, "sam")
    page = (await client.get("/staff")).text
    assert "bel me op [phone] (☎ 0612345678)" in page
    assert "mail naar [email] of [phone]<" in page and "a@b.nl" not in page
    assert "<td>Terugbellen</td>" in page and "<td>Bericht</td>" in page
    [first, _] = await cases.tasks()
    local = web.services.town.local(first.queued_at)
    assert local.utcoffset(), "the demo municipality's clock is not UTC"
    assert f"<td>{local:%d-%m-%Y %H:%M}</td>" in page, "times on the municipality's clock"


async def test_a_console_stopped_while_it_starts_closes_its_port(settings: Settings) -> None:
    async def serving() -> None:
        async with serve(create_app(settings), settings):
            await asyncio.Event().wait()

    starting = asyncio.create_task(serving())
    await asyncio.sleep(0.1)  # the app is still opening its services
    starting.cancel()
    await asyncio.gather(starting, return_exceptions=True)
    host, port = settings.console_host, settings.console_port
    left = [task for task in asyncio.all_tasks() if "Server.serve" in repr(task.get_coro())]
    assert not left, left
    with pytest.raises(OSError):
        await asyncio.open_connection(host, port)


async def test_vergeet_revokes_the_chat_token(client: httpx.AsyncClient) -> None:
    citizen = Citizen(client)
    await citizen.start()
    [confirm] = await citizen.say("/vergeet")
    buttons = confirm["buttons"]
    assert isinstance(buttons, list) and buttons[0]["title"] == "Ja, wis alles"
    assert citizen.answer["ended"] is False
    [forgotten] = await citizen.say(button=buttons[0]["data"])
    assert str(forgotten["text"]).startswith("Gedaan")
    assert citizen.answer["ended"] is True, "the page starts a new chat"
    headers = {"X-Chat-Token": citizen.token}
    for path in ("/chat/api/history", "/chat/api/poll"):
        assert (await client.get(path, headers=headers)).status_code == 401
    sent = await client.post("/chat/api/send", json={"text": "hoi"}, headers=headers)
    assert sent.status_code == 401, "the page starts a new chat"


async def test_the_page_s_language_the_guard_and_the_language_buttons(
        client: httpx.AsyncClient) -> None:
    citizen = Citizen(client)
    [start] = await citizen.start("en")
    assert start["text"].startswith("Hi! I'm Balie")  # type: ignore[union-attr]
    assert citizen.answer["language"] == "en"
    warning, answer = await citizen.say("my bsn is 111222333, how do I object?")
    assert str(warning["text"]).startswith("Please don't send personal details")
    assert "6 weeks" in str(answer["text"])
    [offer] = await citizen.say("/taal")
    buttons = {b["title"]: b["data"] for b in offer["buttons"]}  # type: ignore[attr-defined]
    assert list(buttons) == ["Nederlands", "English"]
    [switched] = await citizen.say(button=buttons["Nederlands"])
    assert switched["text"] == "Vanaf nu praat ik Nederlands met je."
    assert citizen.answer["language"] == "nl", "the page follows the chat's language"


async def test_a_reopened_page_gets_the_transcript_as_the_citizen_saw_it(
    client: httpx.AsyncClient,
) -> None:
    citizen = Citizen(client)
    greeting = await citizen.start()
    assert greeting[0]["buttons"], "the greeting suggests questions"
    pressed = await citizen.say(button=greeting[0]["buttons"][0]["data"])  # type: ignore[index]
    await citizen.say("mijn nummer is 06 12345678")
    for text in ("wanneer moet ik betalen?", "xq zzv plop", "bla bla qq"):
        live = await citizen.say(text)
    seen = (await client.get("/chat/api/history",
                             headers={"X-Chat-Token": citizen.token})).json()
    messages = seen["messages"]
    assert seen["language"] == "nl"
    assert messages[0]["direction"] == "out", "no /start the citizen never typed"
    assert messages[1] == {**messages[1], "direction": "in", "text": "Wanneer moet ik betalen?"}
    assert pressed[0]["at"] == messages[1]["at"]
    assert [m["masked"] for m in messages if m["direction"] == "in"][1], "marked as masked"
    assert len(live) == 2 and live[-1]["buttons"], "Balie did not get it twice: an offer"
    assert [m["buttons"] for m in messages[-len(live):]] == [r["buttons"] for r in live]
    assert all(not m["buttons"] for m in messages[:-len(live)]), "only live buttons come back"
