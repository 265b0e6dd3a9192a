"""The web chat of a collaboration over real HTTP: each site's municipality, or the citizen's."""

import httpx
import pytest

from bot.settings import PROJECT_DIR
from tests.console.conftest import Citizen

DOG_TAX = "wat kost de hondenbelasting voor één hond?"
ASK = "In welke gemeente woon je?"
HELD = "Je vraag beantwoord ik zodra ik weet in welke gemeente je woont"
DOG_ONE = {"voorbeeld": "€ 96,00", "oosterdorp": "€ 72,00", "westerstad": "€ 120,00"}
MUNICIPALITIES = ["Gemeente Oosterdorp", "Gemeente Voorbeeld", "Gemeente Westerstad"]

Replies = list[dict[str, object]]


@pytest.fixture
def environment(environment: dict[str, str]) -> dict[str, str]:
    """Every demo tenant: three municipalities, their collaboration and its water board."""
    return {**environment, "BALIE_FACTS_DIR": str(PROJECT_DIR / "intents" / "facts"),
            "BALIE_TENANTS": ""}


def text(replies: Replies) -> str:
    return "\n".join(str(reply["text"]) for reply in replies)


def buttons(reply: dict[str, object]) -> dict[str, str]:
    """The buttons of a reply, by title: the data a press sends."""
    shown = reply["buttons"]
    assert isinstance(shown, list)
    return {button["title"]: button["data"] for button in shown}


@pytest.mark.parametrize("tenant", sorted(DOG_ONE))
async def test_each_municipalitys_site_gets_its_own_dog_tax(
    client: httpx.AsyncClient, tenant: str
) -> None:
    citizen = Citizen(client)
    greeting = await citizen.start(municipality=tenant)
    assert "Balie" in text(greeting) and ASK not in text(greeting)
    answer = text(await citizen.say(DOG_TAX))
    assert DOG_ONE[tenant] in answer, answer
    assert all(amount not in answer for key, amount in DOG_ONE.items() if key != tenant)


async def test_a_shared_chat_asks_once_takes_a_postcode_and_lets_the_citizen_move(
    client: httpx.AsyncClient
) -> None:
    citizen = Citizen(client)
    greeting = await citizen.start()
    assert "Balie" in str(greeting[0]["text"]) and ASK in str(greeting[-1]["text"])
    assert list(buttons(greeting[-1])) == MUNICIPALITIES
    held = await citizen.say(DOG_TAX)
    assert HELD in text(held) and "€" not in text(held), "the question waits for the answer"
    answered = text(await citizen.say("7405"))
    assert "ik help je voor Gemeente Oosterdorp" in answered and "€ 72,00" in answered
    again = text(await citizen.say(DOG_TAX))
    assert "€ 72,00" in again and HELD not in again, "remembered"
    moved = text(await citizen.say("ik woon in Westerstad"))
    assert "ik help je voor Gemeente Westerstad" in moved
    assert "€ 120,00" in text(await citizen.say(DOG_TAX))


async def test_a_pressed_municipality_answers_the_question_asked_before(
    client: httpx.AsyncClient
) -> None:
    citizen = Citizen(client)
    await citizen.start()
    [asked] = await citizen.say(DOG_TAX)
    answered = text(await citizen.say(button=buttons(asked)["Gemeente Westerstad"]))
    assert "ik help je voor Gemeente Westerstad" in answered and "€ 120,00" in answered
    assert "€ 120,00" in text(await citizen.say(DOG_TAX))


async def test_a_municipalitys_page_shows_its_name_and_phone(client: httpx.AsyncClient) -> None:
    page = (await client.get("/chat", params={"gemeente": "westerstad"})).text
    assert 'data-gemeente="westerstad"' in page
    assert "Balie is een chatbot van Gemeente Westerstad" in page and "088 123 4500" in page
    embed = (await client.get("/chat/api/embed", params={"gemeente": "westerstad"})).json()
    assert embed["phone"] == "088 123 4500"
    for shared in ({}, {"gemeente": "nergensdorp"}, {"gemeente": "waterschap-voorbeeld"}):
        page = (await client.get("/chat", params=shared)).text
        assert 'data-gemeente=""' in page and "Balie is een chatbot van je gemeente" in page


async def test_a_water_board_question_gets_the_collaborations_water_board_figures(
    client: httpx.AsyncClient
) -> None:
    member, alone = Citizen(client), Citizen(client)
    await member.start(municipality="oosterdorp")
    water = text(await member.say("hoeveel is de waterschapsbelasting?"))
    assert "€ 128,52 per huishouden" in water and "€ 71,36" in water
    await alone.start(municipality="voorbeeld")
    own = text(await alone.say("hoeveel is de waterschapsbelasting?"))
    assert "geen belasting van de gemeente, maar van Waterschap Voorbeeld" in own
    assert "€ 128,52" not in own
