"""Cleaning untrusted text."""

import pytest

from bot.nlu.sanitize import clean


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("  hoi  ", "hoi"),
        ("ho\x00i\x07", "hoi"),
        ("a\u200bb\u202ec", "abc"),
        ("regel 1\nregel 2\tx", "regel 1\nregel 2\tx"),
        ("e\u0301", "é"),
        ("\ud800kapot", "?kapot"),
        ("😀👍🏽", "😀👍🏽"),
        ("مرحبا", "مرحبا"),
    ],
)
def test_clean(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned
