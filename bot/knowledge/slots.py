"""What kind of fact a question asks for, and whether a sentence states one.

"when" wants a date, "who" a person or team, "how many / how long / how much" a number
or duration, "where" a place. A sentence "holds the slot" when it states that kind of
fact; the answerer leads with such a sentence, and abstains when no passage about the
question's subject has one. Questions of another kind (why, how, what) ask for no slot.
"""

from __future__ import annotations

import re

DATE, PERSON, NUMBER, PLACE = "date", "person", "number", "place"

_ASKS = (
    (
        DATE,
        re.compile(
            r"\b(when|what (date|day|time|week|month)|which (date|day|week|month)|"
            r"by when|how soon|deadline|go(ing)?[- ]live date|eta|what time)\b"
        ),
    ),
    (
        NUMBER,
        re.compile(
            r"\b(how (many|much|long|often|far( back)?|big|old|quickly|fast|soon)|"
            r"budget|salary|salaries|earn|costs?|price|fee|allowance|"
            r"what (percentage|percent|share|number|budget|cost|price)|"
            r"response time|turnaround)\b"
        ),
    ),
    (
        PERSON,
        re.compile(
            r"\b(who('s| is| are| do| does| will| can| should| owns| approves)?|"
            r"whom|whose|which (team|person|people|group|manager|department)|"
            r"what team)\b"
        ),
    ),
    (
        PLACE,
        re.compile(
            r"\b(where|which (site|depot|office|room|building|channel|region|city)|"
            r"what (site|room|building|channel|location|address))\b"
        ),
    ),
)

_MONTH = (
    r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|"
    r"oct(ober)?|nov(ember)?|dec(ember)?)"
)
_DAY = r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri)"
_DATE_RE = re.compile(
    rf"\b(\d{{1,2}}(st|nd|rd|th)? {_MONTH}\b|{_MONTH} \d{{1,2}}(st|nd|rd|th)?\b|{_MONTH} \d{{4}}|"
    rf"\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}(/\d{{2,4}})?|{_DAY}\b|q[1-4]\b|"
    rf"(early|mid|late|end of|start of|beginning of|by the end of) ({_MONTH}|\d{{4}}|q[1-4]|"
    rf"the (year|quarter|month|week))|\b(19|20)\d{{2}}\b|today|tomorrow|next (week|month|year)|"
    rf"(every|each) ({_DAY}|week|month|day|quarter)|\d{{1,2}}(:\d{{2}})? ?(am|pm)\b|"
    rf"\d{{1,2}}:\d{{2}}|weekly|monthly|daily|quarterly|annually|fortnightly|"
    rf"after (the |each |every )?\w+|before (the |each |every )?\w+)",
    re.I,
)
_NUMBER_WORDS = (
    r"(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
    r"forty|fifty|sixty|hundred|thousand|million|half|a dozen|twice)"
)
_NUMBER_RE = re.compile(
    rf"(\d|[$€£¥]|\b{_NUMBER_WORDS}\b|\bper ?cent\b|\bunlimited\b|\bno limit\b)", re.I
)
_PERSON_RE = re.compile(
    r"(\b[A-Z][a-z]+ [A-Z][a-z]+\b|@\w+|\b(team|office|desk|manager|managers|lead|leads|owner|"
    r"owners|director|head of|hr|people team|support|board|committee|council|champion|"
    r"champions|sponsor|admin|administrator|coordinator|officer|partner|steward|squad|chapter|"
    r"group|department|ops|operations|engineer|engineers|analyst|analysts|"
    r"supervisor|coach|trainer|mentor|buddy|ceo|cto|cfo|coo|vp)\b)"
)
_PLACE_RE = re.compile(
    r"(#[\w-]+|https?://|\bwww\.|\b(in|at|on|from|via|through) (the )?[A-Z][\w-]+|"
    r"\b(room|floor|building|site|depot|office|portal|intranet|channel|wiki|page|folder|drive|"
    r"hub|centre|center|campus|warehouse|hq|headquarters|remote|online|slack|zoom|"
    r"confluence|sharepoint|jira|app|system|tool|website|site|link|form|inbox|email|mailbox)\b)",
)


_NO_SLOT = re.compile(
    r"\b(why|how come|how (?!many|much|long|often|far|big|old|quickly|fast|soon)[a-z']+)\b"
)


def asked_slot(question: str) -> str | None:
    """The kind of fact a question asks for, or None (why / how / what / yes-no).

    The first asking word decides: "why do teams struggle when adopting it?" asks why."""
    text = question.lower()
    found = [(m.start(), slot) for slot, pattern in _ASKS if (m := pattern.search(text))]
    plain = _NO_SLOT.search(text)
    if plain is not None:
        found.append((plain.start(), None))
    return min(found, key=lambda item: item[0])[1] if found else None


def holds(slot: str | None, sentence: str) -> bool:
    """True when the sentence states a fact of that kind (always True for no slot)."""
    if slot is None:
        return True
    if slot == DATE:
        return bool(_DATE_RE.search(sentence))
    if slot == NUMBER:
        return bool(_NUMBER_RE.search(sentence))
    if slot == PERSON:
        return bool(_PERSON_RE.search(sentence))
    if slot == PLACE:
        return bool(_PLACE_RE.search(sentence) or _PLACE_RE.search(sentence.lower()))
    return True


MONEY_NOUN = re.compile(r"\b(budget|salary|salaries|bonus|bonuses|price|fee|fees|allowance)\b")
_HOW_MANY = re.compile(r"\bhow (?:many|much) ([a-z]+)")


def slot_noun(question: str) -> str | None:
    """The word naming what is counted or priced ("how many *seats*", "the *budget*"), which
    a passage must mention to state that fact; None when the question names none."""
    text = question.lower()
    money = MONEY_NOUN.search(text)
    if money:
        return money.group(1)
    match = _HOW_MANY.search(text)
    if match and match.group(1) not in _NOT_NOUNS:
        return match.group(1)
    return None


_NOT_NOUNS = frozenset(
    [
        *("do", "does", "did", "is", "are", "was", "were", "will", "would", "can", "could"),
        *("should", "have", "has", "had", "of", "the", "a", "an", "my", "our", "your"),
        *("their", "time"),
    ]
)
