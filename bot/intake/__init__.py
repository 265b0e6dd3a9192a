"""Intake: updates into Redis, the stream and inboxes, workers, outbox and send budget."""
