"""Masking of personal data (BSN, IBAN, phone numbers, e-mail addresses) before text is stored."""

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", re.IGNORECASE)
BSN = re.compile(r"(?<![\w.])(?:\d{3}([. ])\d{3}\1\d{3}|\d{4}([. ])\d{2}\2\d{3}|\d{8,9})(?![\w])")
PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)\d{2}(?:[ -]?\(?\d\)?){7,12}(?!\d)"  # international: +31 6 1234 5678
    r"|(?<!\w)0(?:[ -]?\d){9}(?!\d)"  # national: 06-12345678, 030 123 4567
)


def is_bsn(candidate: str) -> bool:
    """Tell whether a number passes the BSN eleven test (8 digits get a leading zero)."""
    digits = re.sub(r"\D", "", candidate).zfill(9)
    if len(digits) != 9 or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    return (total - int(digits[8])) % 11 == 0


def is_iban(candidate: str) -> bool:
    """Tell whether a string is an IBAN with a valid mod-97 check."""
    compact = re.sub(r"\s", "", candidate).upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def mask(text: str) -> str:
    """Replace personal data in a text with [email], [iban], [bsn] and [phone]."""
    text = EMAIL.sub("[email]", text)
    text = IBAN.sub(lambda m: "[iban]" if is_iban(m.group()) else m.group(), text)
    text = BSN.sub(lambda m: "[bsn]" if is_bsn(m.group()) else m.group(), text)
    return PHONE.sub("[phone]", text)
