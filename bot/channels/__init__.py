"""Channels: where turns come in and replies go out (Telegram, the terminal)."""
