"""Everything Redis holds, as one text, to look for what must not be kept."""

from typing import Any

import redis.asyncio as redis


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, dict):
        return " ".join(f"{_text(k)}={_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return " ".join(_text(item) for item in value)
    return str(value)


async def redis_text(client: "redis.Redis") -> str:
    """Return every key with its whole value, whatever its type, one line per key."""
    lines = []
    async for key in client.scan_iter(count=1000):
        kind = _text(await client.type(key))
        read = {"string": client.get, "list": lambda k: client.lrange(k, 0, -1),
                "hash": client.hgetall, "set": client.smembers,
                "zset": lambda k: client.zrange(k, 0, -1, withscores=True),
                "stream": client.xrange}.get(kind)
        lines.append(f"{_text(key)} ({kind}): {_text(await read(key)) if read else ''}")
    return "\n".join(lines)
