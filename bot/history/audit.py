"""The audit log: who did what privileged thing, when (purges, erasures, console actions)."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.history.log import ID, Base, History
from bot.history.tenancy import ALL, EVERYTHING, Scope, tenant_column


class Audit(Base):
    """A privileged action: who did what, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The tenant whose chat or announcement it concerns; `*` for logins, users and purges.
    tenant: Mapped[str] = tenant_column()


def entry(actor: str, action: str, detail: str | None = None, tenant: str = ALL) -> Audit:
    """Build an audit row stamped now, to add in the caller's transaction."""
    return Audit(actor=actor, action=action, detail=detail, at=datetime.now(UTC), tenant=tenant)


async def record(history: History, actor: str, action: str, detail: str | None = None,
                 tenant: str = ALL) -> None:
    """Write one audit row in its own transaction."""
    async with history.sessions.begin() as session:
        session.add(entry(actor, action, detail, tenant))


async def recent(history: History, scope: Scope = EVERYTHING, limit: int = 200) -> list[Audit]:
    """Return the newest audit rows of the scope's tenants first."""
    async with history.sessions() as session:
        query = (select(Audit).where(scope.where(Audit.tenant))
                 .order_by(Audit.id.desc()).limit(limit))
        return list((await session.scalars(query)).all())
