"""The privacy guard: personal data in a message is warned about before anything else.

A BSN, IBAN, phone number or e-mail address (found by `bot.history.masking`, which leaves the
municipality's own contact details alone) or something that looks like a password gets a warning
(`utter_guard_warning`); the rest of the message is then understood and answered as usual. In a
form, such a value is refused and the question asked again, so it never fills a slot. A question
about sending personal data ("mag ik mijn BSN sturen?") is answered: never in chat
(`utter_guard_question`).
"""

import re
from dataclasses import dataclass

from bot.dialogue.policy import Policy, clear
from bot.history.masking import Keep, mask
from bot.state.store import ChatState
from bot.types import CancelForm, FillSlot, Guarded, Move, Parse, RepeatQuestion, Several

GUARDED = ("bsn", "iban", "phone", "email")
TAGS = re.compile(r"\[(?:bsn|iban|phone|email|address|name|password)\]")
_LABEL = (r"(?:digid[\s-]*)?(?:bsn|burgerservicenummer|sofinummer|iban"
          r"|(?:bank)?rekening(?:nummer)?|(?:bank\s+)?account(?:\s+number)?|telefoon(?:nummer)?"
          r"|mobiel(?:e nummer)?|nummer"
          r"|phone(?:\s+number)?|number|e-?mail(?:adres)?|mail(?:adres)?|(?:e-?mail\s+)?address"
          r"|wachtwoord|password|pincode|pin)")
# "mijn bsn is [bsn]": the words that only introduce the value go with it.
INTRODUCED = re.compile(
    rf"(?:\b(?:mijn|my|m'n|het|the)\s+)?\b{_LABEL}\s*(?:(?:is|=|:)\s*)?(?={TAGS.pattern})",
    re.IGNORECASE)
# "wachtwoord: geheim", "mijn digid wachtwoord is Zomer2026!": after "is" only a value that
# looks like a password (a digit, a sign or a capital inside), not "mijn wachtwoord is vergeten".
PASSWORD = re.compile(
    r"\b(?:wachtwoord|password|passwd|wachtwoorden|pincode)\s*"
    r"(?:(?:[:=])\s*(?P<given>[^\s,;]{3,})"
    r"|(?:is|was)\s+(?P<told>(?=\S*(?:\d|[^\w\s]|(?<=\w)(?-i:[A-Z])))[^\s,;]{4,}))",
    re.IGNORECASE)
_PERSONAL = (r"(?:bsn|burgerservicenummer|sofinummer|iban|(?:bank)?rekening(?:nummer)?"
             r"|digid[\s-]*(?:gegevens|wachtwoord|code|details|password)|wachtwoord|password"
             r"|pincode|telefoonnummer|phone\s+number|e-?mail(?:adres)?|persoonsgegevens"
             r"|(?:bank\s+)?account(?:\s+number)?|personal\s+(?:data|details|information)"
             r"|paspoort|passport|id-?kaart)")
_SEND = (r"(?:sturen|stuur|opsturen|versturen|geven|geef|doorgeven|delen|deel|typen|invullen"
         r"|noemen|sending|send|give|share|provide|tell|type|enter|need|nodig)")
# "mag ik mijn BSN sturen?", "can I send you my IBAN?", "heb je mijn bsn nodig?"
QUESTION = re.compile(
    rf"\b(?:mag|moet|kan|kun|wil|heb|hebben|is\s+het|can|may|should|must|do|does|is\s+it|shall)"
    rf"\b(?=.{{0,60}}\b{_PERSONAL}\b)(?=.{{0,80}}\b{_SEND}\b)",
    re.IGNORECASE | re.DOTALL)
QUESTION_CHARS = 300  # such a question is short; a letter that mentions a BSN is no question


@dataclass(frozen=True)
class Finding:
    """What the guard found: the response to give first, the rest to understand, the log text."""

    response: str
    rest: str
    logged: str


def _passwords(text: str) -> list[tuple[int, int]]:
    spans = []
    for match in PASSWORD.finditer(text):
        group = "given" if match.group("given") else "told"
        spans.append(match.span(group))
    return spans


def find(text: str, keep: Keep) -> Finding | None:
    """Return what the guard has to say about a message, or None when it holds nothing personal."""
    passwords = _passwords(text)
    logged = text
    for start, end in reversed(passwords):
        logged = f"{logged[:start]}[password]{logged[end:]}"
    # A BSN, IBAN or phone number needs a digit, an e-mail address "@": else nothing to mask.
    masked = mask(logged, keep) if any(c.isdigit() for c in text) or "@" in text else logged
    if passwords or any(masked.count(f"[{kind}]") > text.count(f"[{kind}]") for kind in GUARDED):
        rest = TAGS.sub(" ", INTRODUCED.sub("", masked))
        return Finding("utter_guard_warning", " ".join(rest.split()).strip(" ,.;:"), logged)
    if len(text) <= QUESTION_CHARS and QUESTION.search(text):
        return Finding("utter_guard_question", "", text)
    return None


def guarded(finding: Finding, move: Move, parse: Parse | None, state: ChatState,
            policy: Policy) -> Guarded:
    """Put the warning before the move for the rest, if that is clear; in a form, ask again."""
    understood = isinstance(move, Several | CancelForm) or bool(parse and clear(parse, policy))
    then = move if understood and not isinstance(move, FillSlot) else None
    if then is None and state.form:
        then = RepeatQuestion()
    return Guarded(finding.response, then, intent=then.intent if then else None,
                   offer_handoff=bool(then and then.offer_handoff))
