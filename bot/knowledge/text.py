"""Tokenising for keyword search and sentence picking (no NLP downloads needed)."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
    having he her here hers herself him himself his how i i'm if in into is isn't it it's its
    itself let's me more most mustn't my myself no nor not of off on once only or other ought our
    ours ourselves out over own same shan't she should shouldn't so some such than that that's the
    their theirs them themselves then there there's these they this those through to too under
    until up very was wasn't we were weren't what what's when where which while who whom why
    will with won't would wouldn't you your yours yourself yourselves hi hey hello please thanks
    thank pls plz u ur im ok okay also just get got gonna wanna anyone know tell us does do
    need want like really still any some""".split()
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*_`])|\n+")


def stem(token: str) -> str:
    """A deliberately light suffix stripper: plural and -ing/-ed forms meet their root."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "es" and not token.endswith(("sses", "xes", "ches", "shes", "zes")):
                continue
            if suffix == "s" and token.endswith("ss"):
                continue
            return token[: -len(suffix)] + keep
    return token


def tokens(text: str) -> list[str]:
    """Lower-cased, stop-word-free, lightly stemmed terms."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        for part in token.split("-") if "-" in token else (token,):
            if part and part not in STOPWORDS:
                out.append(stem(part))
    return out


_WRAPPED = re.compile(r"(?<=[a-z,;])\n(?=[A-Za-z0-9(])")


def sentences(text: str) -> list[str]:
    """Split a passage into sentences and list items, dropping markup-only fragments.

    A line break inside a sentence (hard-wrapped text: a lower-case letter or a comma
    before it, a word after it) does not end the sentence."""
    parts = []
    for raw in _SENTENCE.split(_WRAPPED.sub(" ", text)):
        cleaned = raw.strip().lstrip("#>|-*+ ").strip()
        if len(cleaned) >= 12 and any(ch.isalpha() for ch in cleaned):
            parts.append(cleaned)
    return parts
