"""Every Redis key Balie uses, built here and nowhere else.

| key                         | type   | what                                 | TTL             |
|-----------------------------|--------|--------------------------------------|-----------------|
| balie:<chat>:state          | string | JSON of ChatState                    | state TTL, 30 d |
| balie:<chat>:lock           | string | token of the turn being handled      | 10 s            |
| balie:<chat>:flood:<minute> | string | turns in that minute                 | 2 min           |
| balie:<chat>:inbox          | list   | the chat's updates not yet handled   | stream max age  |
| balie:<chat>:drain          | string | token of the worker draining it      | drain lock, 3 s |
| balie:<chat>:out:<update>   | hash   | tries; n → sent                      | outbox TTL, 1 h |
| balie:<chat>:outbox         | list   | JSON replies for the web chat page   | 24 h            |
| balie:<chat>:handoff        | hash   | the ticket (bot.handoff.desk.Ticket) | - (closed)      |
| balie:<chat>:callback       | hash   | task id → phone numbers to call back | - (task done)   |
| balie:<chat>:markup         | list   | Telegram messages with live buttons  | 7 d             |
| balie:<chat>:poll:<poll>    | string | nonce the poll was asked with here   | 90 d            |
| balie:seen:<digest>         | hash   | update id → token, updates handled   | 2 d after last  |
| balie:revoked               | set    | digests of chats erased (/vergeet)   | -               |
| balie:updates               | stream | unhandled updates: chat, update id   | maxlen, max age |
| balie:handoff:queue         | zset   | waiting chat ids by queue time       | -               |
| balie:handoff:topics        | hash   | chat → staff topic, t:<topic> → chat | -               |
| balie:handoff:alive         | zset   | web chats by the last time their     | - (quiet, swept)|
|                             |        | page was heard from                  |                 |
| balie:handoff:events        | stream | bot.handoff.events, one per entry    | maxlen 100k     |
| balie:handoff:tasks_posted  | set    | task ids posted to the staff group   | -               |
| balie:send:<second>         | string | sends of all workers that second     | 2 s             |
| balie:send:pause            | string | set after a 429: all sends wait      | retry_after     |
| balie:history:backlog       | list   | JSON log batches (a turn's masked    | -               |
|                             |        | rows) waiting for the database       |                 |
| balie:history:flush         | string | token of the flusher (or erasure)    | 10 s            |
|                             |        | working on the backlog               |                 |
| balie:console:session:<sha> | string | JSON of a console session, by the    | idle time, at   |
|                             |        | SHA-256 of the id in its cookie      | most 8 h        |
| balie:console:user:<id>     | set    | a user's session digests, to revoke  | 8 h after last  |
| balie:console:failed:<addr> | string | failed logins from a client address  | lock-out, 15 min|

`<digest>` is `digest(chat)`: what must outlive /vergeet names the chat only by it.
"""

import hashlib

PREFIX = "balie"


def _key(*parts: object) -> str:
    return ":".join((PREFIX, *map(str, parts)))


def state(chat_id: str) -> str:
    """Return the key of a chat's state."""
    return _key(chat_id, "state")


def lock(chat_id: str) -> str:
    """Return the key of a chat's turn lock."""
    return _key(chat_id, "lock")


def digest(chat_id: str) -> str:
    """Return a chat id as a hash, for records that must not name the chat."""
    return hashlib.sha256(chat_id.encode()).hexdigest()[:16]


def seen(chat_id: str) -> str:
    """Return the key of a chat's handled update ids (by digest: it stays after /vergeet)."""
    return _key("seen", digest(chat_id))


def flood(chat_id: str, minute: int) -> str:
    """Return the key counting a chat's turns in one minute."""
    return _key(chat_id, "flood", minute)


def inbox(chat_id: str) -> str:
    """Return the key of a chat's unhandled updates."""
    return _key(chat_id, "inbox")


def drain(chat_id: str) -> str:
    """Return the key of a chat's drain lock."""
    return _key(chat_id, "drain")


def sends(chat_id: str, update_id: int | str) -> str:
    """Return the key marking the outgoing messages of one update ("": the keys' prefix)."""
    return _key(chat_id, "out", update_id)


def in_flight(chat_id: str, key: str) -> bool:
    """Tell whether a key of the chat serves the turns under way: locks, inbox, send marks."""
    return key in (lock(chat_id), drain(chat_id), inbox(chat_id)) or key.startswith(
        _key(chat_id, "out", ""))


def web_outbox(chat_id: str) -> str:
    """Return the key of the replies waiting for a web chat page."""
    return _key(chat_id, "outbox")


def handoff(chat_id: str) -> str:
    """Return the key of a chat's handoff ticket."""
    return _key(chat_id, "handoff")


def callback_numbers(chat_id: str) -> str:
    """Return the key of the phone numbers of a chat's open call-back tasks."""
    return _key(chat_id, "callback")


def markup(chat_id: str) -> str:
    """Return the key of the chat's Telegram messages whose buttons still show."""
    return _key(chat_id, "markup")


def poll_asked(chat_id: str, poll_id: int) -> str:
    """Return the key saying a poll was asked in a chat."""
    return _key(chat_id, "poll", poll_id)


def chat_pattern(chat_id: str) -> str:
    """Return the SCAN pattern matching every key of a chat."""
    return _key(chat_id, "*")


def sent_in(second: int) -> str:
    """Return the key counting every worker's sends in one second."""
    return _key("send", second)


def console_session(digest: str) -> str:
    """Return the key of a console session, by the digest of its id."""
    return _key("console", "session", digest)


def user_sessions(user_id: int) -> str:
    """Return the key of the set of a console user's sessions."""
    return _key("console", "user", user_id)


def failed_logins(address: str) -> str:
    """Return the key counting failed console logins from one client address."""
    return _key("console", "failed", address)


UPDATES = _key("updates")
HANDOFF_QUEUE = _key("handoff", "queue")
HANDOFF_TOPICS = _key("handoff", "topics")
HANDOFF_ALIVE = _key("handoff", "alive")
HANDOFF_EVENTS = _key("handoff", "events")
TASKS_POSTED = _key("handoff", "tasks_posted")
SEND_PAUSE = _key("send", "pause")
REVOKED = _key("revoked")
BACKLOG = _key("history", "backlog")
BACKLOG_LOCK = _key("history", "flush")
