"""Prometheus metrics of the intake and the workers (one registry per process, or shared files)."""

from prometheus_client import Counter, Gauge, Histogram

from bot.types import Fallback, HandoffMove, Move

MESSAGES = Counter("balie_messages", "Messages in and out of conversations", ["direction"])
TURN_SECONDS = Histogram(
    "balie_turn_seconds", "Time to answer a turn",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
INTENTS = Counter("balie_intents", "Turns per intent", ["intent"])
FALLBACKS = Counter("balie_fallbacks", "Turns Balie did not understand")
FLOODED = Counter("balie_flooded", "Turns over the flood limit: counted, not answered or stored")
HANDOFFS = Counter("balie_handoffs", "Turns that moved a chat towards a person")
UPDATES = Counter("balie_updates", "Updates accepted by the intake")
REFUSED = Counter("balie_webhook_refused", "Webhook requests refused", ["status"])
IN_DOUBT = Counter("balie_sends_in_doubt", "Messages sent again after a crash during their send")
RETRY_AFTER = Counter("balie_retry_after", "Bot API calls Telegram asked to repeat later")
STREAM_LENGTH = Gauge("balie_stream_length", "Entries in the update stream",
                      multiprocess_mode="max")
STREAM_LAG = Gauge("balie_stream_lag", "Stream entries not yet read by a worker",
                   multiprocess_mode="max")
STREAM_PENDING = Gauge("balie_stream_pending", "Stream entries read but not yet acknowledged",
                       multiprocess_mode="max")


def count_turn(move: Move, replies: int, latency_ms: float) -> None:
    """Count a handled turn: messages in and out, its latency, intent, fallback or handoff."""
    MESSAGES.labels("in").inc()
    MESSAGES.labels("out").inc(replies)
    TURN_SECONDS.observe(latency_ms / 1000)
    if move.intent:
        INTENTS.labels(move.intent).inc()
    if isinstance(move, Fallback):
        FALLBACKS.inc()
    elif isinstance(move, HandoffMove):
        HANDOFFS.inc()
