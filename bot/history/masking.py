"""Masking of personal data (BSN, IBAN, phone, e-mail, address, name) before text is stored.

Every pattern is bounded or anchored so that a text is read in linear time, whatever it holds:
no pattern can try a long run of letters or digits again from each of its characters. Each
starts with a set of characters, which the engine finds before it tries the pattern there.
"""

import functools
import itertools
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

Span = tuple[int, int]


def anycase(text: str) -> str:
    """Return a pattern for a text in any case."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


def _words(*words: str, spell: Callable[[str], str] = re.escape) -> str:
    """Return a pattern for any of the words, branching on their first letter."""
    by_first: dict[str, list[str]] = {}
    for word in words:
        by_first.setdefault(word[0], []).append(spell(word[1:]))
    return "(?:" + "|".join(f"{spell(first)}(?:{'|'.join(rests)})"
                            for first, rests in by_first.items()) + ")"


def _phrase_parts(*phrases: str) -> tuple[str, str]:
    """Return the set of the phrases' first letters, and a pattern for the rest of any of them.

    Any case. A pattern that starts with a set of characters lets the regular expression engine
    skip every place where none of them is, without trying it there; the rest starts with the
    second character, which the engine checks before it tries a branch.
    """
    def words(text: str) -> str:
        return r"\s+".join(map(anycase, text.split(" ")))

    def second_of(character: str) -> str:
        return r"\s" if character == " " else anycase(character)

    by_pair: dict[tuple[str, str], list[str]] = {}
    for phrase in phrases:
        first, second = phrase[0].lower(), phrase[1].lower()
        by_pair.setdefault((first, second), []).append(
            r"\s*" + words(phrase[2:]) if second == " " else words(phrase[2:]))
    branches = "|".join(
        rf"{second_of(second)}(?<={anycase(first)}.)(?:{'|'.join(rests)})"
        for (first, second), rests in by_pair.items())
    firsts = "".join(sorted({first for first, _ in by_pair}))
    return f"[{re.escape(firsts + firsts.upper())}]", f"(?:{branches})"


def _phrases(*phrases: str) -> str:
    """Return a pattern for any of the phrases in any case, not inside a word."""
    starts, rest = _phrase_parts(*phrases)
    return rf"{starts}(?<!\w.){rest}"


# What a value's key leaves out: all that a phone number holds but its digits, and more.
ASCII_ALNUM = frozenset(string.ascii_letters + string.digits)
PUNCTUATION = str.maketrans("", "", " \t\n.,:;-\u2013\u2014/()+'\u2019@_%")
NOT_DIGITS = bytes(c for c in range(128) if not chr(c).isdigit())  # to delete from ASCII
# A digit, perhaps after a separator: 06-12, 06.12, 06 - 12.
_DIGIT = r"(?:[ .\-\u2013\u2014/]?\d|\s[-\u2013\u2014]\s\d)"


def _digits(least: int, most: int = 0) -> str:
    """Return a pattern for `least` to `most` such digits, as many as there are.

    Written out: the engine tries a sequence and a branch faster than a repeated group.
    """
    more = ""
    for _ in range(most - least):
        more = f"(?:{_DIGIT}{more}|)"
    return _DIGIT * least + more


EMAIL = re.compile(r"\w(?<![\w.+%-]\w)(?<!\w['\u2019]\w)"  # the start of the local part
                   r"[\w.+%'\u2019-]{0,63}+@[\w-]{1,63}+(?:\.[\w-]{1,63}+)++")
# A country's IBAN after its code and check digits: a letter, n digit, c either.
BBAN = {"NL": "aaaannnnnnnnnn", "BE": "nnnnnnnnnnnn", "DE": "nnnnnnnnnnnnnnnnnn",
        "LU": "nnnccccccccccccc", "FR": "nnnnnnnnnncccccccccccnn", "GB": "aaaannnnnnnnnnnnnn",
        "IE": "aaaannnnnnnnnnnnnn", "ES": "nnnnnnnnnnnnnnnnnnnn", "IT": "annnnnnnnnnccccccccccccc",
        "AT": "nnnnnnnnnnnnnnnn", "CH": "nnnnnccccccccccccc", "PL": "nnnnnnnnnnnnnnnnnnnnnnnn",
        "PT": "nnnnnnnnnnnnnnnnnnnnn", "DK": "nnnnnnnnnnnnnn"}
_CLASS = {"a": "[A-Za-z]", "n": r"\d", "c": "[A-Za-z0-9]"}
# After the country's first letter: its second letter (which the engine checks before it tries
# the rest), the first, then the check digits and the rest.
_IBANS = "|".join(f"[{country[1]}{country[1].lower()}](?<=[{country[0]}{country[0].lower()}].)"
                  + r"[ .-]?\d\d" + "".join(f"[ .-]?{_CLASS[kind]}" for kind in bban)
                  for country, bban in BBAN.items())
_COUNTRIES = "".join(sorted({country[0] for country in BBAN}))
IBAN = re.compile(rf"[{_COUNTRIES}{_COUNTRIES.lower()}](?=[A-Za-z][ .-]?\d)"
                  rf"(?:{_IBANS})(?![.-]?\d)")
BSN = re.compile(r"\d(?<!\d\d)(?<!\d[.,-]\d)"  # not the end of a longer number
                 r"\d\d(?:\d{5}\d?+|([ .-])\d{3}\1\d{3}|\d([ .])\d\d\2\d{3})"
                 r"(?!\d|[.,-]\d|B\d\d)")  # nor its start; NL123456782B01 is a VAT number
_ABROAD = (rf"(?:31\s?+(?:\(0\)\s?+|){_digits(9)}"  # +31 (0)6 1234 5678
           rf"|[1-9]\d{{0,2}}\s?+(?:\(0\)\s?+|){_digits(6, 12)})")  # +32 470 12 34 56
# Each branch starts with its own character, which the engine checks before it tries it.
PHONE = re.compile(
    rf"(?:\+(?<![\w+]\+){_ABROAD}|0(?<![\w+]0)(?:0{_ABROAD}"  # +31 …, 0031 …
    rf"|(?!\d[-./]\d\d[-./]\d{{4}}){_digits(9)})"  # 06.12.34.56.78, not a date
    rf"|\((?<![\w+]\()0(?:\d\)\s?{_digits(8)}|\d\d\)\s?{_digits(7)}|\d{{3}}\)\s?{_digits(6)}))"
    r"(?!\d|[.\-\u2013\u2014/:]\d|\s[-\u2013\u2014]\s\d)")  # (020) 123 4567
_HOUSE = r"\d{1,5}(?:[ -]?[A-Za-z](?!\w)|-\d{1,4})?(?![\w%]|[.,]\d)"
_LABEL_STARTS, _LABEL_REST = _phrase_parts("huisnummer", "huisnr", "nr", "nummer")
_LABEL_REST += r"\.?[ \t]*:?[ \t]*"
_LABEL = rf"{_LABEL_STARTS}(?<!\w.){_LABEL_REST}"
_POSTCODE = r"[1-9](?<!\w[1-9])\d{3} ?(?![sS][aAdDsS])"
# What a postcode's letters cannot be: words and units ("in 2026 is 12 % meer", "1000 kg 5"),
WORDS = frozenset(("is", "en", "op", "in", "of", "at", "or", "to", "am", "pm", "as", "an", "by",
                   "be", "we", "he", "me", "my", "no", "so", "up", "us", "it", "if", "do", "go",
                   "te", "al", "nu", "na", "om", "kg", "km", "cm", "mm", "mb", "gb", "kb", "ml"))
# unless they are in capitals ("1234 IS 5").
_NOT_WORD = rf"(?!{_words(*sorted(WORDS), spell=anycase)}(?<![A-Z]{{2}})(?![A-Za-z]))"
# Addresses that start with a postcode, and those that start with a word; two patterns, for
# each starts with the set of characters it can start with.
POSTCODED = re.compile(rf"{_POSTCODE}{_NOT_WORD}[A-Za-z]{{2}}(?![A-Za-z])[ \t]*,?[ \t]*"
                       rf"(?:{_LABEL})?{_HOUSE}")  # 1234 AB 12
WORDED = re.compile(
    rf"[A-Z{_LABEL_STARTS[1:-1]}](?<!\w.)(?:(?<=[A-Z])[a-z\u00e0-\u00ff]{{1,30}}"
    r"(?:straat|weg|laan|plein|singel|gracht|kade|dijk|hof|pad|dreef|steeg)"
    rf" {_HOUSE}(?:,?[ \t]*{_POSTCODE}[A-Za-z]{{2}}(?![A-Za-z]))?"  # Kerkstraat 12a
    rf"|{_LABEL_REST}{_HOUSE}[ \t]*,?[ \t]*"  # huisnummer 12, postcode 1234 AB
    rf"(?:{_phrases('en postcode', 'postcode')}[ \t]*:?[ \t]*)?"
    rf"{_POSTCODE}[A-Za-z]{{2}}(?![A-Za-z]))")
# Who wrote: "mijn naam is Jan de Vries", "Groet,\nPiet Jansen".
_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de\u0100-\u017f"  # Latin-1 and Extended-A: Ş, Ł, Ő
_LOWER = "a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u017f"
_WORD = (rf"(?:[{_UPPER}][{_LOWER}]+(?:[-'\u2019][{_UPPER}{_LOWER}][{_LOWER}]+)?"
         rf"|(?:[A-Z]\.){{1,4}})")  # Jan, Marie-Louise, J., P.J.
_PARTICLE = _words("van", "de", "der", "den", "ter", "ten", "te", "het", "'t", "la", "le", "di",
                   "da", "du", "del", "dos", "el", "al", "von", "bin", "ibn")
NOT_NAMES = ("Nederlander", "Nederlandse", "Nederlands", "Dutch", "Engels", "English", "Duits",
             "Duitse", "Duitser", "German", "Frans", "Franse", "French", "Spaans", "Spaanse",
             "Spanish", "Pools", "Poolse", "Polish", "Turks", "Turkse", "Turkish", "Marokkaans",
             "Marokkaanse", "Moroccan", "Syrisch", "Syrische", "Syrian", "Oekraïens", "Oekraïense",
             "Ukrainian", "Italiaans", "Italiaanse", "Italian", "Belg", "Belgisch", "Belgische",
             "Belgian", "British", "American", "Maandag", "Dinsdag", "Woensdag", "Donderdag",
             "Vrijdag", "Zaterdag", "Zondag", "Monday", "Tuesday", "Wednesday", "Thursday",
             "Friday", "Saturday", "Sunday", "Sorry", "Gemeente", "Eigenaar", "Huurder", "Mijn",
             "Ik", "Not", "Fam", "Familie", "Mevrouw", "Meneer", "Mevr", "Dhr", "Mr", "Mrs", "Ms")
_NAMES = rf"{_WORD}(?: ?(?:{_PARTICLE} ){{0,3}}{_WORD}){{0,3}}(?!\w)"
_PERSON = rf"(?!{_words(*NOT_NAMES)}(?!\w)){_NAMES}"
TITLES = ("mevrouw", "meneer", "mevr.", "dhr.", "de heer", "mr.", "mr", "mrs.", "mrs", "ms.", "ms",
          "fam.", "familie")
_TITLE = _phrases(*TITLES) + r"\s+"
INTRODUCTIONS = ("ik ben", "ik heet", "mijn naam is", "de naam is", "my name is", "i am", "i'm",
                 "t.n.v.", "tnv", "ten name van", "namens")
SIGN_OFFS = ("met vriendelijke groet", "met vriendelijke groeten", "vriendelijke groet",
             "vriendelijke groeten", "hartelijke groet", "hartelijke groeten", "groet", "groeten",
             "groetjes", "mvg", "m.v.g.", "gr.", "kind regards", "best regards", "warm regards",
             "regards", "best wishes", "yours sincerely", "sincerely", "cheers", "thanks",
             "thank you", "alvast bedankt", "bedankt", "dank je wel", "dank je")
_PARTS = {name: _phrase_parts(*phrases) for name, phrases in (
    ("title", TITLES), ("introduction", INTRODUCTIONS), ("label", ("naam", "name")),
    ("sign_off", SIGN_OFFS))}
_FIRSTS = "".join(sorted({c for starts, _ in _PARTS.values() for c in starts[1:-1]}))
# Who wrote, in one pattern (its branches after the first character): "mevrouw van Dijk", "mijn
# naam is Jan de Vries", "naam: J. Jansen", "Groet,\nPiet Jansen". Each names its name group.
NAMES = re.compile(
    rf"[{_FIRSTS}](?<!\w.)(?:{_PARTS['title'][1]}\s+(?P<titled>(?:{_PARTICLE} ){{0,3}}{_NAMES})"
    rf"|(?:{_PARTS['introduction'][1]}|{_PARTS['label'][1]}[ \t]*:)\s*(?:{_TITLE})?"
    rf"(?P<introduced>{_PERSON})"
    rf"|{_PARTS['sign_off'][1]}[ \t]*[,.!:-]?\s*(?:{_phrases('van', 'from')}\s+)?(?:{_TITLE})?"
    rf"(?P<signed>{_PERSON})(?=[ \t]*(?:[.!,(]|\n|$)))")  # a sign-off ends its line


def _needed(phrases: Iterable[str]) -> frozenset[str]:
    """Return words one of which a text with any of the phrases holds: a longest of each."""
    words = {max(phrase.split(" "), key=len) for phrase in phrases}
    return frozenset(word for word in words if not any(o != word and o in word for o in words))


# A text (in lower case) that holds none of these is not scanned for names: one pattern reads
# the text once, where a search per word would read it for each.
NAME_WORDS = re.compile(_words(*sorted(_needed((*TITLES, *INTRODUCTIONS, "naam", "name",
                                                  *SIGN_OFFS)))))
# A number named as something else stays: "KvK 12345678", "klantnummer 123456782".
NAMED = re.compile(
    _phrases("kvk", "kamer van koophandel", "klant", "debiteur", "aanslag", "factuur", "dossier",
             "zaak", "relatie", "order", "kenmerk", "referentie", "reference", "customer",
             "client", "notice", "assessment", "invoice", "case", "ticket", "polis", "contract",
             "btw", "vat", "vestiging", "objection", "bezwaar")
    + rf"[A-Za-z-]{{0,12}}+(?:\s{{0,2}}{_phrases('nummer', 'nr', 'number', 'no', 'id')}(?!\w))?"
    r"[\s.:#-]{0,4}+(?:(?:is|was|=)[ \t]{1,2})?")


def is_bsn(candidate: str) -> bool:
    """Tell whether a number passes the BSN eleven test (8 digits get a leading zero)."""
    digits = re.sub(r"\D", "", candidate).zfill(9)
    if len(digits) != 9 or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    return (total - int(digits[8])) % 11 == 0


def is_iban(candidate: str) -> bool:
    """Tell whether a string is an IBAN with a valid mod-97 check."""
    compact = re.sub(r"[\s.-]", "", candidate).upper()
    if not 15 <= len(compact) <= 34 or not compact.isalnum() or not compact.isascii():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _phone_key(text: str) -> str:
    """Return a phone number as its national digits, so +31 6 … and 06 … are one number."""
    digits = text.replace("(0)", "").encode("ascii", "ignore").translate(None, NOT_DIGITS).decode()
    if text.startswith("+"):
        digits = "00" + digits
    return "0" + digits[4:] if digits.startswith("0031") else digits


def _key(kind: str, text: str) -> str:
    """Return what two ways of writing one value have in common."""
    return _phone_key(text) if kind == "phone" else text.translate(PUNCTUATION).lower()


class _Text(str):
    """A text being masked, with what more than one finder reads of it (read once)."""

    @functools.cached_property
    def labelled(self) -> frozenset[int]:
        """Where numbers named by a label such as "KvK" or "klantnummer" start."""
        return frozenset(match.end() for match in NAMED.finditer(self))


Found = tuple[Span, str]  # where a value is, and its kind
SPAN = re.Match.span


def _of(kind: str, spans: Iterable[Span]) -> Iterable[Found]:
    return zip(spans, itertools.repeat(kind))  # made in C, as the spans by map(SPAN, ...)


def _emails(text: _Text) -> Iterable[Found]:
    return _of("email", map(SPAN, EMAIL.finditer(text))) if "@" in text else ()


def _ibans(text: _Text) -> Iterable[Found]:
    return _of("iban", (match.span() for match in IBAN.finditer(text)
                        if is_iban(match.group())))


def _phones(text: _Text) -> Iterable[Found]:
    found = list(PHONE.finditer(text))
    if found and text.labelled:
        found = [match for match in found if match.start() not in text.labelled]
    return _of("phone", map(SPAN, found))


def phone_numbers(text: str) -> list[str]:
    """Return the phone numbers in a text, as written: the ones mask() masks as [phone]."""
    return [text[start:end] for (start, end), _ in _phones(_Text(text))]


def _bsns(text: _Text) -> Iterator[Found]:
    for match in BSN.finditer(text):
        before = text[max(0, match.start() - 5):match.start()].rstrip().lower()
        if (is_bsn(match.group()) and not before.endswith(("€", "eur", "euro"))
                and match.start() not in text.labelled):
            yield match.span(), "bsn"


def _addresses(text: _Text) -> Iterable[Found]:
    return _of("address", itertools.chain(map(SPAN, POSTCODED.finditer(text)),
                                          map(SPAN, WORDED.finditer(text))))


def _names(text: _Text) -> Iterable[Found]:
    if not NAME_WORDS.search(text.lower()):
        return ()
    return _of("name", (match.span(str(match.lastgroup)) for match in NAMES.finditer(text)))


# In order of precedence: an IBAN's digits are no phone number, an e-mail's no name.
FINDERS: tuple[Callable[[_Text], Iterable[Found]], ...] = (
    _emails, _ibans, _phones, _bsns, _addresses, _names)
LABELS = {kind: f"[{kind}]" for kind in ("email", "iban", "phone", "bsn", "address", "name")}
# What a text without digits can hold: every other kind has digits in it.
WITHOUT_DIGITS = (_emails, _names)
DIGIT = re.compile(r"\d")


def _has_digits(text: str) -> bool:
    """Tell whether a text holds a digit: the ASCII ones looked for at C speed, one by one."""
    return any(digit in text for digit in string.digits) or (
        not text.isascii() and DIGIT.search(text) is not None)


@dataclass(frozen=True)
class Keep:
    """What masking leaves as it is: the municipality's own phone numbers, e-mail, addresses."""

    found: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Per kind, the length of the shortest key: a value is not looked up when its key would be
    # shorter (an ASCII text's key is at most as long as it, another's at most twice: "İ" is
    # lowered to two characters).
    shortest: Mapping[str, int] = field(default_factory=dict)
    # Per kind, the ASCII letters and digits no key ends in, in either case: a value ending in
    # one is not kept (its key ends in that character too).
    unlike: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, facts: Iterable[object]) -> "Keep":
        """Collect the contact details in facts (texts, or lists and tables of them)."""
        texts = list(_texts(facts))
        found: dict[str, set[str]] = {"name": {_key("name", text) for text in texts}}
        for text in map(_Text, texts):
            for find in FINDERS:
                for (start, end), kind in find(text):
                    found.setdefault(kind, set()).add(_key(kind, text[start:end]))
        kept = {kind: frozenset(keys) for kind, keys in found.items() if keys}
        return cls(kept, {kind: min(map(len, keys)) for kind, keys in kept.items()},
                   {kind: ASCII_ALNUM - {c for key in keys for c in (key[-1:], key[-1:].upper())}
                    for kind, keys in kept.items()})

    def keeps(self, kind: str, value: str) -> bool:
        """Tell whether a value found as `kind` is one of the municipality's own."""
        return (value[-1] not in self.unlike[kind]
                and (len(value) if value.isascii() else 2 * len(value)) >= self.shortest[kind]
                and _key(kind, value) in self.found[kind])


def _texts(facts: Iterable[object]) -> Iterator[str]:
    for fact in facts:
        if isinstance(fact, str):
            yield fact
        elif isinstance(fact, dict):
            yield from _texts(fact.values())
        elif isinstance(fact, list | tuple):
            yield from _texts(fact)


NOTHING = Keep()


def mask(text: str, keep: Keep = NOTHING) -> str:
    """Replace personal data with [email], [iban], [phone], [bsn], [address] and [name]."""
    found: list[Found] = []
    scanned = _Text(text)
    for find in FINDERS if _has_digits(text) else WITHOUT_DIGITS:
        found += find(scanned)
    masked = _join(text, sorted(found), keep)
    return masked if masked is not None else str(_join(text, _by_precedence(found), keep))


def _join(text: str, found: list[Found], keep: Keep) -> str | None:
    """Return the text with the values found (in order) replaced; None if two overlap."""
    parts: list[str] = []
    at = covered = 0
    for (start, end), kind in found:
        if start < covered:
            return None
        covered = end
        # Most values are of a kind that keeps nothing, or end in a character no kept value of
        # their kind ends in: no slice and no call for them.
        unlike = keep.unlike.get(kind)
        if unlike is None or text[end - 1] in unlike or not keep.keeps(kind, text[start:end]):
            parts += (text[at:start], LABELS[kind])
            at = end
    parts.append(text[at:])
    return "".join(parts)


def _by_precedence(found: list[Found]) -> list[Found]:
    """Return the values, in order, that overlap none found before them by the finders."""
    taken, kept = bytearray(max((end for (_, end), _ in found), default=0)), []
    for (start, end), kind in found:
        if taken.find(1, start, end) < 0:
            taken[start:end] = b"\x01" * (end - start)
            kept.append(((start, end), kind))
    return sorted(kept)
