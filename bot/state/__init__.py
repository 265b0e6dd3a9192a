"""Conversation state in Redis: keys, the connection, and the chat state store."""
