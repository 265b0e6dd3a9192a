"""Cleaning of untrusted citizen text before anything reads it."""

import unicodedata

KEEP = {"\n", "\t"}


def clean(text: str) -> str:
    """Return the text as valid NFC Unicode without control or invisible format characters."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    kept = (
        ch for ch in text
        if ch in KEEP or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co"}
    )
    return "".join(kept).strip()
