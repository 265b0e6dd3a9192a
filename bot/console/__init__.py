"""The web side of Balie: the citizens' web chat and the staff and supervisor console."""

from bot.console.app import create_app, serve

__all__ = ["create_app", "serve"]
