"""Handing a chat to staff: the desk, the citizen's reception, and cases."""
