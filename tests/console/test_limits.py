"""Request limits of the web app: body sizes, validation answers, invalid Unicode."""

from collections.abc import AsyncIterator

import httpx

from bot.settings import Settings
from tests.console.conftest import Citizen, log_in


async def test_an_oversized_chat_message_is_413_with_a_short_body(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    citizen = Citizen(client)
    await citizen.start()
    headers = {"X-Chat-Token": citizen.token}
    longest = "é" * 4096  # the page allows 4,096 characters
    assert (await client.post("/chat/api/send", json={"text": longest},
                              headers=headers)).status_code == 200
    big = await client.post("/chat/api/send", json={"text": "a" * settings.chat_max_bytes},
                            headers=headers)
    assert big.status_code == 413
    assert len(big.content) < 200 and "a" * 50 not in big.text

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(100):
            yield b"a" * 1000  # no Content-Length: counted while it arrives

    streamed = await client.post("/chat/api/send", content=chunks(),
                                 headers={**headers, "Content-Type": "application/json"})
    assert streamed.status_code == 413


async def test_an_oversized_console_form_is_413(client: httpx.AsyncClient) -> None:
    await log_in(client, "sam")
    response = await client.post("/login", data={"name": "x" * 100_000, "password": "p"})
    assert response.status_code == 413


async def test_a_validation_error_names_fields_but_never_echoes_the_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/chat/api/start", json={"language": "secret-BSN-467279627"})
    assert response.status_code == 422
    assert "467279627" not in response.text
    assert "language" in response.text


async def test_a_lone_surrogate_is_a_clear_400(client: httpx.AsyncClient) -> None:
    citizen = Citizen(client)
    await citizen.start()
    response = await client.post("/chat/api/send", content=b'{"text": "\\ud800"}',
                                 headers={"X-Chat-Token": citizen.token,
                                          "Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Unicode" in response.text
