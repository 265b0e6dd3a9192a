"""The tenants of a deployment: each municipality's and water board's facts, and which is whose.

A collaboration (a belastingsamenwerking) shares an office, phone, hours and portal: its file
(`kind: collaboration`) holds those, and each member's file `extends:` it, overriding key by
key. A chat's tenant comes from its channel (a town's own site or bot), or from the citizen
(a button, a postcode in `postcodes.csv`, "ik woon in Westerstad").
"""

import csv
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.replies.municipality import (
    DAY_NAMES,
    KINDS,
    Facts,
    FactsError,
    Municipality,
    WaterBoardFacts,
)

POSTCODE = re.compile(r"\b([1-9][0-9]{3}) ?(?:[A-Za-z]{2})?\b")


def _problems(schema: type[BaseModel], raw: dict[str, Any], error: ValidationError) -> str:
    """Say once per wrong fact what it is and what it should be."""
    problems: dict[str, str] = {}
    for detail in error.errors():
        key = str(detail["loc"][0])
        if key in problems:
            continue
        field = schema.model_fields.get(key)
        expected = field.description if field else ""
        if key not in raw:
            problems[key] = f"`{key}` is missing (expected {expected})"
            continue
        # A value error comes from a check of this module (opening hours): its reason says more.
        reason = (": " + detail["msg"].removeprefix("Value error, ")
                  if detail["type"] == "value_error" else "")
        problems[key] = f"`{key}` is {raw[key]!r} (expected {expected}{reason})"
    return "; ".join(problems.values())


def _read(facts_dir: Path, key: str,
          below: tuple[str, ...] = ()) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Return a facts file's facts over those of the file it `extends`, and the chain of keys."""
    path = facts_dir / f"{key}.yml"
    if key in below:
        raise FactsError(f"The facts file {path} extends itself (through {', '.join(below)}).")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except (OSError, yaml.YAMLError) as error:
        raise FactsError(f"The facts file {path} cannot be read: {error}.") from None
    if not isinstance(raw, dict):
        raise FactsError(f"The facts file {path} must be a table of `name: value` facts.")
    parent = raw.pop("extends", None)
    if parent is None:
        return raw, (key,)
    shared, lineage = _read(facts_dir, str(parent), (*below, key))
    shared.pop("kind", None)  # a member of a collaboration is no collaboration itself
    return {**shared, **raw}, (*lineage, key)


def _validated(schema: type[BaseModel], path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.model_validate(raw).model_dump()
    except ValidationError as error:
        raise FactsError(
            f"The facts file {path} is not as Balie needs it: {_problems(schema, raw, error)}. "
            f"Correct the file (intents/facts/voorbeeld.yml shows every fact) and start again."
        ) from None


def load(facts_dir: Path, key: str) -> Municipality:
    """Read and check `<facts_dir>/<key>.yml` (by default `intents/facts/<key>.yml`).

    A file may `extends:` another (a collaboration's shared facts), key by key; a municipality
    with a `water_board_tenant` gets that water board's facts as `water_board_<fact>`.
    """
    path = facts_dir / f"{key}.yml"
    raw, lineage = _read(facts_dir, key)
    kind = raw.pop("kind", "municipality")
    if kind not in KINDS:
        raise FactsError(f"The facts file {path}: `kind` is {kind!r} (expected one of "
                         f"{', '.join(KINDS)}).")
    if kind == "collaboration":
        raise FactsError(f"The facts file {path} holds a collaboration's shared facts: it is "
                         f"not a tenant of its own.")
    if kind == "water_board":
        facts = _validated(WaterBoardFacts, path, raw)
    else:
        board = raw.get("water_board_tenant")
        if board:
            # Its kind first: a municipality named here would load its own water board again.
            if _read(facts_dir, str(board))[0].get("kind") != "water_board":
                raise FactsError(f"The facts file {path}: `water_board_tenant` {board!r} is not "
                                 f"a water board (its file has no `kind: water_board`).")
            water = load(facts_dir, str(board))
            raw = {**{f"water_board_{name}": value for name, value in water.facts.items()},
                   "water_board": water.facts["name"], "water_board_url": water.facts["website"],
                   **raw}
        facts = _validated(Facts, path, raw)
    return Municipality(
        key=key,
        source=path,
        facts=facts,
        timezone=facts["timezone"],
        hours={DAY_NAMES.index(day): hours for day, hours in facts["opening_hours"].items()},
        holidays=frozenset(facts["holidays"]),
        kind=kind,
        lineage=lineage,
    )


def _postcodes(path: Path, known: dict[str, Municipality]) -> tuple[tuple[int, int, str], ...]:
    """Read `postcodes.csv`: `from;to;tenant` per line, four-digit postcode ranges, `#` notes."""
    if not path.exists():
        return ()
    ranges = []
    with path.open(encoding="utf-8", newline="") as lines:
        for number, row in enumerate(csv.reader(lines, delimiter=";"), 1):
            if not row or row[0].startswith("#") or row[0] == "from":
                continue
            try:
                low, high, key = int(row[0]), int(row[1]), row[2].strip()
            except (IndexError, ValueError):
                raise FactsError(f"{path}, line {number}: write `from;to;tenant`, such as "
                                 f"`1230;1239;voorbeeld`.") from None
            if not (path.parent / f"{key}.yml").exists():
                raise FactsError(f"{path}, line {number}: there is no facts file {key}.yml.")
            if key in known:  # a collaboration's whole table serves a deployment of a few
                ranges.append((low, high, key))
    return tuple(ranges)


@dataclass(frozen=True)
class Tenants:
    """The municipalities and water boards one deployment serves, and the one a turn is for."""

    all: dict[str, Municipality]
    default: Municipality
    postcodes: tuple[tuple[int, int, str], ...] = ()
    _serving: ContextVar[Municipality] = field(
        default_factory=lambda: ContextVar("tenant"), compare=False, repr=False)

    @property
    def municipalities(self) -> tuple[Municipality, ...]:
        """Return the municipalities, in the order of their keys (water boards left out)."""
        return tuple(town for town in self.all.values() if town.kind == "municipality")

    @property
    def shared(self) -> bool:
        """Tell whether a chat without a tenant must ask which municipality the citizen is in."""
        return len(self.municipalities) > 1

    def get(self, key: str | None) -> Municipality:
        """Return the tenant of that key; the default one for an unknown key."""
        return self.all.get(key or "") or self.default

    def chosen(self, key: str | None) -> Municipality | None:
        """Return the municipality a chat is for, or None while it must still be asked."""
        town = self.all.get(key or "")
        if town and town.kind == "municipality":
            return town
        return None if self.shared else self.municipalities[0]

    def named(self, text: str) -> Municipality | None:
        """Return the municipality a text names ("Westerstad", "gemeente oosterdorp"), if one."""
        words = " " + re.sub(r"[^\w-]+", " ", text.casefold()) + " "
        for town in self.municipalities:
            names = {town.key, town.name.casefold().removeprefix("gemeente ")}
            if any(f" {name} " in words for name in names):
                return town
        return None

    def by_postcode(self, text: str) -> Municipality | None:
        """Return the municipality of the first postcode in a text, if the table knows it."""
        found = POSTCODE.search(text)
        if found is None:
            return None
        number = int(found.group(1))
        key = next((key for low, high, key in self.postcodes if low <= number <= high), "")
        return self.chosen(key) if key in self.all else None

    @property
    def serving(self) -> Municipality:
        """Return the tenant of the turn being handled (the default one outside a turn)."""
        return self._serving.get(self.default)

    def serve(self, town: Municipality) -> None:
        """Make `town` the tenant of what the current task does next (a turn, a request)."""
        self._serving.set(town)


def open_all(facts_dir: Path, keys: tuple[str, ...], default: str) -> Tenants:
    """Load the tenants named (every facts file but collaborations' when none are named)."""
    if not keys:
        keys = tuple(sorted(
            path.stem for path in facts_dir.glob("*.yml")
            if (_read(facts_dir, path.stem)[0].get("kind") or "municipality") != "collaboration"))
    found = {key: load(facts_dir, key) for key in keys}
    if default not in found:
        raise FactsError(f"BALIE_MUNICIPALITY is {default!r}, which is not one of the tenants "
                         f"({', '.join(found)}).")
    if found[default].kind != "municipality":
        raise FactsError(f"BALIE_MUNICIPALITY is {default!r}, a water board: the default tenant "
                         f"must be a municipality (chats of no known tenant are its).")
    return Tenants(found, found[default], _postcodes(facts_dir / "postcodes.csv", found))
