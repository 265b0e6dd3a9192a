"""Factories for Telegram Update objects as JSON dicts, as a citizen's phone would produce."""

import itertools
import time
from typing import Any

BOT_USER = {"id": 7000001, "is_bot": True, "first_name": "Balie", "username": "balie_test_bot"}
_message_ids = itertools.count(1)


STAFF_NAMES = {9001: "Anna", 9002: "Bram", 9003: "Cas", 9004: "Dirk", 6666: "Eva"}


def user(chat_id: int, language: str = "nl") -> dict[str, Any]:
    name = STAFF_NAMES.get(chat_id, f"Burger{chat_id}")
    return {"id": chat_id, "is_bot": False, "first_name": name, "language_code": language}


def chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": f"Burger{chat_id}"}


def message(chat_id: int, language: str = "nl", **content: Any) -> dict[str, Any]:
    body = {"message_id": next(_message_ids), "date": int(time.time()), "chat": chat(chat_id),
            "from": user(chat_id, language)}
    body.update(content)
    if isinstance(body.get("text"), str) and body["text"].startswith("/"):
        command = body["text"].split()[0]
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return body


def _file(kind: str) -> dict[str, Any]:
    return {"file_id": f"{kind}-file", "file_unique_id": f"{kind}-unique"}


NON_TEXT: dict[str, dict[str, Any]] = {
    "sticker": {"sticker": {**_file("sticker"), "type": "regular", "width": 512, "height": 512,
                            "is_animated": False, "is_video": False, "emoji": "😀"}},
    "photo": {"photo": [{**_file("photo"), "width": 90, "height": 90}]},
    "voice": {"voice": {**_file("voice"), "duration": 3}},
    "location": {"location": {"latitude": 52.09, "longitude": 5.12}},
    "document": {"document": {**_file("document"), "file_name": "aanslag.pdf"}},
}


def callback(chat_id: int, bot_message: dict[str, Any], data: str) -> dict[str, Any]:
    return {"id": f"cb{next(_message_ids)}", "from": user(chat_id), "chat_instance": "ci",
            "message": bot_message, "data": data}


def group(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": "Balie staff", "is_forum": True}


def topic_message(chat_id: int, thread: int, user_id: int, text: str) -> dict[str, Any]:
    """A staff member writing in a forum topic of the staff group."""
    body = message(user_id, text=text)
    body.update(chat=group(chat_id), message_thread_id=thread, is_topic_message=True)
    return body
