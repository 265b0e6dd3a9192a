"""Understanding: content loading, sanitising, amounts, and the intent model."""
