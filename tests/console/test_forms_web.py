"""Issue 5 on the web chat: the household calculator, a form, case status, and the staff task."""

import re

import httpx

from bot.handoff.cases import SqlCases
from tests.console.conftest import Citizen, Web, log_in


def text(replies: list[dict[str, object]]) -> str:
    return "\n".join(str(reply["text"]) for reply in replies)


def button(replies: list[dict[str, object]], title: str) -> str:
    for reply in replies:
        for pressed in reply["buttons"]:  # type: ignore[attr-defined]
            if pressed["title"] == title:
                return str(pressed["data"])
    raise AssertionError(f"no button {title!r} in {replies}")


async def test_household_total_in_dutch_and_english(client: httpx.AsyncClient) -> None:
    citizen = Citizen(client)
    await citizen.start()
    dutch = text(await citizen.say(
        "we zijn met z'n drieën, huis van 410.000 en een hond, wat betalen we?"))
    # OZB 410.000 x 0,0856% = 350,96; waste (more persons) 396,00; sewage 246,60; dog 96,00.
    for line in ("€ 350,96", "€ 396,00", "€ 246,60", "€ 96,00", "€ 1.089,56"):
        assert line in dutch, dutch
    english = Citizen(client)
    await english.start("en")
    answer = text(await english.say(
        "we are 3, we own a house of 410,000 and one dog, what do we pay?"))
    assert "€1,089.56" in answer, answer


async def test_arrangement_form_case_status_and_the_task_for_staff(
    web: Web, client: httpx.AsyncClient
) -> None:
    citizen = Citizen(client)
    await citizen.start()
    explained = await citizen.say("kan ik mijn aanslag in termijnen betalen?")
    await citizen.say(button=button(explained, "Regeling aanvragen"))
    again = text(await citizen.say("twintig"))
    assert "bedrag" in again.lower()
    await citizen.say("€ 900")
    await citizen.say("3")
    confirmed = text(await citizen.say("1234 AB 5"))
    found = re.search(r"BR-[A-Z0-9]{6}", confirmed)
    assert found, confirmed
    reference = found.group(0)
    assert "€ 300,00" in confirmed

    await citizen.say("wat is de status van mijn betalingsregeling?")
    await citizen.say(reference)
    status = text(await citizen.say("1234AB 5"))
    assert reference in status and "1234" not in status

    [task] = await SqlCases(web.balie.history.engine).tasks()
    async with httpx.AsyncClient(base_url=web.url) as console:
        token = await log_in(console, "sam")
        queue = await console.get("/staff")
        assert reference in queue.text and citizen.chat_id in queue.text
        assert (await console.get("/staff/queue.json")).json()["tasks"] == [task.id]
        done = await console.post(f"/staff/tasks/{task.id}/done", data={"csrf": token})
        assert done.status_code == 303
        assert (await console.get("/staff/queue.json")).json()["tasks"] == []
        again_done = await console.post(f"/staff/tasks/{task.id}/done", data={"csrf": token})
        assert again_done.status_code == 404


async def test_stop_ends_a_form_on_the_web(client: httpx.AsyncClient) -> None:
    citizen = Citizen(client)
    await citizen.start()
    ask = text(await citizen.say("reken mijn ozb uit"))
    assert "WOZ" in ask
    stopped = text(await citizen.say("stop"))
    answer = text(await citizen.say("hoe lang heb ik om bezwaar te maken?"))
    assert stopped and "6 weken" in answer
