"""Console passwords: argon2id off the event loop, and the policy that refuses weak ones."""

import asyncio
import re
import string
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
COMMON = Path(__file__).parent / "data" / "common-passwords.txt"
# One short part said again and again: aaaaaaaaaaaa, abababababab, abcabcabcabc.
REPEATED = re.compile(r"(.{1,4})\1+", re.DOTALL)
DECORATION = string.digits + string.punctuation + string.whitespace


@cache
def common() -> frozenset[str]:
    """Return the bundled list of common passwords, lower-cased."""
    lines = COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def weakness(password: str, name: str) -> tuple[str, str] | None:
    """Return why a password is too weak for this user (in English, in Dutch), or None."""
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        return (f"a password needs at least {MIN_LENGTH} characters",
                f"Een wachtwoord heeft minstens {MIN_LENGTH} tekens nodig.")
    if REPEATED.fullmatch(password):
        return ("a password must not be one short part repeated",
                "Een wachtwoord mag niet één kort stukje herhalen.")
    if len(name) >= 3 and name.strip().lower() in lowered:
        return ("a password must not contain the user name",
                "Een wachtwoord mag de gebruikersnaam niet bevatten.")
    # "Welkom2026!" is "welkom" with decoration: as easy to guess as the word itself.
    if lowered in common() or lowered.strip(DECORATION) in common():
        return ("this password is on the list of common passwords; choose another",
                "Dit wachtwoord staat op de lijst van veelgebruikte wachtwoorden. Kies een ander.")
    return None


class Passwords:
    """argon2id hashes, computed in a pool of `concurrency` threads so logins never block."""

    def __init__(self, time_cost: int, memory_kib: int, concurrency: int) -> None:
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="balie-argon2")
        self._nobodys: str | None = None

    async def hash(self, password: str) -> str:
        """Return the argon2id hash of a password."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self.hasher.hash, password)

    async def verify(self, hashed: str, password: str) -> bool:
        """Return whether the password matches the hash."""
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._verify, hashed, password)

    async def waste(self, password: str) -> None:
        """Check a password against nobody's hash: a refusal takes as long as a wrong password."""
        if self._nobodys is None:
            self._nobodys = await self.hash("not a password of anyone")
        await self.verify(self._nobodys, password)

    def needs_rehash(self, hashed: str) -> bool:
        """Return whether a hash was made at another cost than this one."""
        return self.hasher.check_needs_rehash(hashed)

    def _verify(self, hashed: str, password: str) -> bool:
        try:
            return self.hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False
