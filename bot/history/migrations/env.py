"""Alembic environment: runs on the connection Balie passes in (sync side of an async engine)."""

from alembic import context

from bot.history.log import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
