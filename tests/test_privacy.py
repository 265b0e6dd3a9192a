"""Masking of BSN, IBAN, phone numbers and e-mail addresses."""

import pytest

from bot.history.masking import is_bsn, is_iban, mask


@pytest.mark.parametrize("number", ["111222333", "123456782", "111.222.333", "111 222 333"])
def test_valid_bsn_is_masked(number: str) -> None:
    assert mask(f"mijn bsn is {number} graag") == "mijn bsn is [bsn] graag"


@pytest.mark.parametrize("number", ["123456789", "350000", "2026", "1234567890"])
def test_numbers_that_fail_the_eleven_test_stay(number: str) -> None:
    assert mask(f"nummer {number}") == f"nummer {number}"


def test_eleven_test() -> None:
    assert is_bsn("111222333")
    assert not is_bsn("111222334")
    assert not is_bsn("000000000")


@pytest.mark.parametrize("iban", ["NL91ABNA0417164300", "NL91 ABNA 0417 1643 00",
                                  "nl91abna0417164300", "DE89370400440532013000"])
def test_valid_iban_is_masked(iban: str) -> None:
    assert mask(f"rekening {iban}.") == "rekening [iban]."


def test_iban_with_wrong_check_digits_stays() -> None:
    assert not is_iban("NL92ABNA0417164300")
    assert "NL92ABNA0417164300" in mask("rekening NL92ABNA0417164300")


@pytest.mark.parametrize("phone", ["0612345678", "06-12345678", "06 1234 5678",
                                   "+31 6 12345678", "+31612345678", "0031612345678",
                                   "030 123 4567", "+32 470 12 34 56"])
def test_phone_numbers_are_masked(phone: str) -> None:
    assert mask(f"bel me op {phone} ajb") == "bel me op [phone] ajb"


@pytest.mark.parametrize("email", ["jan@example.nl", "j.de.vries+belasting@mail.co.uk"])
def test_email_is_masked(email: str) -> None:
    assert mask(f"mail {email} ok") == "mail [email] ok"


def test_amounts_and_dates_are_not_masked() -> None:
    text = "woz 350.000, aanslag 2026, betaald op 30-04-2026, € 1.234,56"
    assert mask(text) == text
