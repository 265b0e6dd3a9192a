"""Tenants in SQL: which municipalities a row is for, and which a console user may see."""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, true
from sqlalchemy.orm import Mapped, mapped_column

# A row for the whole collaboration (an announcement or poll for every tenant), or a user who
# belongs to all of them: in the `tenant` or `tenants` column.
ALL = "*"


def tenant_column() -> Mapped[str]:
    """Return the mapped `tenant` column every per-municipality table has."""
    return mapped_column(String(64), index=True)


@dataclass(frozen=True)
class Scope:
    """The tenants a console user belongs to; `tenants` None means all of them."""

    tenants: frozenset[str] | None

    @classmethod
    def of(cls, text: str) -> "Scope":
        """Read a `users.tenants` value: `*`, or keys separated by commas."""
        keys = frozenset(key.strip() for key in text.split(",") if key.strip())
        return cls(None if ALL in keys else keys)

    @classmethod
    def only(cls, keys: Iterable[str]) -> "Scope":
        """Return the scope of these tenants."""
        return cls(frozenset(keys))

    @property
    def text(self) -> str:
        """Write the scope as the `users.tenants` column keeps it."""
        return ALL if self.tenants is None else ",".join(sorted(self.tenants))

    @property
    def everything(self) -> bool:
        """Tell whether the scope is the whole collaboration."""
        return self.tenants is None

    def allows(self, tenant: str) -> bool:
        """Tell whether a row of this tenant is in the scope."""
        return self.tenants is None or tenant in self.tenants

    def covers(self, other: "Scope") -> bool:
        """Tell whether every tenant of `other` is in this scope."""
        if self.tenants is None:
            return True
        return other.tenants is not None and other.tenants <= self.tenants

    def where(self, column: ColumnElement[str] | Mapped[str],
              shared: bool = False) -> ColumnElement[bool]:
        """Return the SQL condition on a `tenant` column; `shared` lets collaboration rows in."""
        if self.tenants is None:
            return true()
        keys = {*self.tenants, ALL} if shared else set(self.tenants)
        return column.in_(sorted(keys))

    def key(self, fallback: str) -> str:
        """Return the one tenant of the scope, or `fallback` when it has several or all."""
        if self.tenants is not None and len(self.tenants) == 1:
            return next(iter(self.tenants))
        return fallback


EVERYTHING = Scope(None)
