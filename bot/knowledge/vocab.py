"""Typos and short forms, resolved against the playbook's own vocabulary.

A question word the playbook uses is never changed. A word it does not use may become
(1) the long form of a known short form ("sev" -> "severity") when the playbook uses
that long form, (2) the playbook word it is a prefix of ("hols" -> "holidays",
"config" -> "configuration"), or (3) a playbook word one typo away ("redundent" ->
"redundant", in `Bm25.correct`). Anything else stays as typed: a word the playbook
never uses is evidence that it may not answer the question.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from bot.knowledge.text import STOPWORDS, stem, tokens

SHORT_FORMS = {
    "sev": "severity",
    "sevs": "severity",
    "hols": "holidays",
    "hol": "holiday",
    "wfh": "working from home",
    "eta": "expected date",
    "pto": "paid time off leave",
    "mgr": "manager",
    "mgrs": "managers",
    "dept": "department",
    "depts": "departments",
    "info": "information",
    "approx": "approximately",
    "reqs": "requirements",
    "docs": "documentation",
    "ppl": "people",
    "yr": "year",
    "yrs": "years",
    "mins": "minutes",
    "hrs": "hours",
    "wk": "week",
    "wks": "weeks",
    "mtg": "meeting",
    "mtgs": "meetings",
    "org": "organisation",
    "prod": "production",
    "env": "environment",
    "repo": "repository",
    "admin": "administrator",
    "tmrw": "tomorrow",
    "asap": "as soon as possible",
    "ooo": "out of office",
    "pw": "password",
    "pwd": "password",
    "acct": "account",
    "msg": "message",
    "govt": "government",
    "mgmt": "management",
    "trng": "training",
    "cert": "certification",
    "certs": "certifications",
    "rota": "rota schedule",
}
MIN_PREFIX = 4  # shorter words are not expanded by prefix (too many playbook words share them)
_WORD = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


class Vocabulary:
    """The playbook's terms (stemmed, as `text.tokens` gives them) with their frequency."""

    def __init__(self, frequency: dict[str, int]) -> None:
        self.frequency = frequency
        self._sorted = sorted(frequency)

    def known(self, term: str) -> bool:
        return term in self.frequency

    def by_prefix(self, prefix: str) -> str | None:
        """The most frequent playbook term that starts with `prefix` (and is longer)."""
        at = bisect.bisect_left(self._sorted, prefix)
        best = None
        while at < len(self._sorted) and self._sorted[at].startswith(prefix):
            term = self._sorted[at]
            fits = term != prefix and len(term) <= 3 * len(prefix) + 2
            if fits and (best is None or self.frequency[term] > self.frequency[best]):
                best = term
            at += 1
        return best


def normalise(
    question: str, vocabulary: Vocabulary, correct: Callable[[list[str]], list[str]]
) -> tuple[str, list[str]]:
    """(question text for the embedder, search terms) with short forms and typos resolved.

    Returns the question unchanged when nothing needed resolving.
    """
    words = _WORD.findall(question)
    rewritten = question
    terms: list[str] = []
    for word in words:
        lower = word.lower()
        if lower in STOPWORDS:
            continue
        own = tokens(lower)
        if own and all(vocabulary.known(t) for t in own):
            terms.extend(own)
            continue
        long_form = SHORT_FORMS.get(lower)
        if long_form is not None:
            expanded = tokens(long_form)
            if any(vocabulary.known(t) for t in expanded):
                terms.extend(t for t in expanded if vocabulary.known(t))
                rewritten = re.sub(rf"\b{re.escape(word)}\b", long_form, rewritten, count=1)
                continue
        if not own:
            continue
        resolved = []
        for term in own:
            if vocabulary.known(term) or term.isdigit():
                resolved.append(term)
                continue
            fixed = correct([term])[0]
            if fixed != term:
                resolved.append(fixed)
            elif len(lower) >= MIN_PREFIX and lower.isalpha():
                resolved.append(vocabulary.by_prefix(stem(lower)) or term)
            else:
                resolved.append(term)
        terms.extend(resolved)
    return rewritten, terms
