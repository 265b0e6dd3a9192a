"""Understanding: content loading, sanitising, amounts, the serving model and its training."""
