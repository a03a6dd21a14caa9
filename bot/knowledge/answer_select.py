"""Which sentences of the top passages answer the question, and whether any does.

Each candidate sentence is scored by its similarity to the question (sentence vectors
stored at ingest, see sentvec.py), how much of the question's rarer words it and its
passage heading cover, and whether it holds the asked-for slot (slots.py). A question
(a sentence ending in "?", a transcript question turn, the question line of a Q/A unit)
is never a candidate. At most three sentences are quoted, the slot holder first.

Newest word: when a newer passage states a change or a confirmation ("moved to",
"unchanged", "cancelled") about the subject, it is quoted first, followed by the passage
that holds the current value when the newer statement does not state it itself.

The abstention signals are returned with the selection, so the rule (`should_abstain`)
can be re-applied with other thresholds without answering again (the eval harness
tunes them leave-one-corpus-out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from bot.knowledge.sentvec import SENTENCE_VECTORS, chunk_sentences, unpack
from bot.knowledge.slots import MONEY_NOUN, asked_slot, holds, slot_noun
from bot.knowledge.text import tokens
from bot.knowledge.units import question_of
from bot.knowledge.vocab import SHORT_FORMS

MAX_SENTENCES = 3
MAX_HITS = 6  # passages whose sentences are considered
SLOT_BONUS = 0.25
COVERAGE_WEIGHT = 0.5
LEAD_MARGIN = 0.15  # a slot holder this close to the best sentence leads instead
FOLLOW_MARGIN = 0.12  # further sentences quoted when this close to the lead
_CHANGE = re.compile(
    r"\b(mov(e|es|ed|ing) (to|from|back|forward)|now|unchanged|no change|not changed|"
    r"cancel+(ed|led|s)?|cancel+ing|called off|dropped|postponed|delayed|brought forward|"
    r"pushed (back|out)|rescheduled|replaced|confirm(ed|s)?|remains?|still|instead|no longer|"
    r"revised|new date|stays?|on track)\b",
    re.I,
)
_CANCELLED = re.compile(r"\b(cancel+(ed|led)?|called off|dropped|no longer)\b", re.I)
# Words that name the kind of answer, not the subject.
_ASKING_WORDS = frozenset(
    tokens(
        "long many much often far date day time week month deadline happen happening start "
        "end going live able allowed get find see check contact ask talk speak"
    )
)


@dataclass
class Candidate:
    sentence: str
    number: int  # the source it is quoted from
    position: int  # reading order inside that source
    rank: int  # rank of its passage
    similarity: float
    coverage: float  # idf-weighted share of the question's words, heading words at half
    subject: float  # idf-weighted share of the question's subject words, heading included
    slot: bool
    change: bool
    updated: str
    source: str
    score: float = 0.0


@dataclass
class Selection:
    sentences: list[Candidate]
    signals: dict = field(default_factory=dict)


def select(question: str, retrieval, retriever, numbers: dict[tuple[str, str], int]) -> Selection:
    """The sentences to quote, best first, and the signals the abstention rule reads.

    `numbers` maps (source path, section) to the source number the answer cites."""
    slot = asked_slot(question)
    idf = retriever.bm25.idf
    fallback_idf = retriever.bm25.max_idf
    terms = set(retrieval.query_terms)
    weights = {t: idf.get(t, fallback_idf) for t in terms}
    subject_terms = {t for t in terms if t not in _ASKING_WORDS} or terms
    query = np.asarray(retrieval.query_vector, dtype=np.float32)
    candidates: list[Candidate] = []
    seen: set[str] = set()
    for rank, hit in enumerate(retrieval.hits[:MAX_HITS]):
        number = numbers.get((hit.metadata.get("source", ""), hit.metadata.get("section", "")))
        if number is None:
            continue
        chunks = [hit.chunk]
        if hit.metadata.get("unit") != "row" and "|" in hit.chunk.text:
            chunks += retriever.table_rows_of(hit)
        for chunk in chunks:
            # The answer of a Q/A unit is as close to the question as the unit's question.
            asked = str(chunk.metadata.get("faq_question") or "")
            answered = retriever.faq_similarity(retrieval.query_vector, asked) if asked else 0.0
            context = set(tokens(chunk.text.split("\n", 1)[0])) | set(tokens(asked))
            dim = query.shape[0] if query.size else 0
            for position, sentence, vector in _sentences(chunk, dim):
                if sentence in seen:
                    continue
                seen.add(sentence)
                words = set(tokens(sentence))
                similarity = (
                    float(vector @ query) if vector is not None else 0.8 * float(hit.dense or 0.0)
                )
                candidates.append(
                    Candidate(
                        sentence=sentence,
                        number=number,
                        position=position + 1000 * (chunk is not hit.chunk),
                        rank=rank,
                        similarity=max(similarity, answered * 0.9**position),
                        coverage=_share(weights, words, context),
                        subject=_share(weights, words | context, set(), only=subject_terms),
                        slot=slot is not None and holds(slot, sentence),
                        change=bool(_CHANGE.search(sentence)),
                        updated=str(hit.metadata.get("updated") or ""),
                        source=str(hit.metadata.get("source") or ""),
                    )
                )
    for c in candidates:
        c.score = (
            c.similarity
            + COVERAGE_WEIGHT * c.coverage
            + (SLOT_BONUS if c.slot else 0.0)
            + 0.05 / (1 + c.rank)
        )
    signals = _signals(slot, candidates)
    noun = slot_noun(question)
    noun_terms = set(tokens(SHORT_FORMS.get(noun or "", noun or "")))
    # Only money nouns count: a counted noun is too often paraphrased ("how many people"
    # is answered by "214 colleagues"), a budget or a salary rarely.
    if noun_terms and MONEY_NOUN.fullmatch(noun or ""):
        signals["slot_noun"] = noun
        signals["slot_noun_found"] = any(
            noun_terms & set(tokens(c.sentence)) for c in candidates if c.slot or slot is None
        )
    subject_weight = sum(weights[t] for t in subject_terms) or 1.0
    signals["unknown"] = round(
        sum(weights[t] for t in subject_terms if t not in idf) / subject_weight, 4
    )
    if not candidates:
        return Selection([], signals)
    return Selection(_choose(slot, candidates), signals)


def _share(weights: dict, words: set, context: set, only: set | None = None) -> float:
    """idf-weighted share of the question's words in `words` (in `context` at half)."""
    terms = only if only is not None else set(weights)
    total = sum(weights[t] for t in terms) or 1.0
    found = sum(weights[t] for t in terms if t in words)
    found += 0.5 * sum(weights[t] for t in terms if t in context and t not in words)
    return found / total


def _sentences(chunk, dim: int):
    """(position, sentence, stored vector or None) of a chunk's answer sentences."""
    sentences = chunk_sentences(chunk.text)
    vectors = None
    packed = chunk.metadata.get(SENTENCE_VECTORS)
    if packed and dim:
        unpacked = unpack(packed, dim)
        vectors = unpacked if len(unpacked) == len(sentences) else None
    body = chunk.text.split("\n", 1)[1] if "\n" in chunk.text else chunk.text
    question_line = body.split("\n", 1)[0] if chunk.metadata.get("faq_question") else ""
    for position, sentence in enumerate(sentences):
        if sentence.rstrip().endswith("?") or question_of(sentence) is not None:
            continue
        if question_line and sentence in question_line:
            continue  # the question of a Q/A unit is context, never the answer
        if sentence.count("|") >= 2:
            continue  # raw table markup: the table's row units are quoted instead
        yield position, sentence, (vectors[position] if vectors is not None else None)


def _signals(slot: str | None, candidates: list[Candidate]) -> dict:
    holders = [c for c in candidates if c.slot] if slot else candidates
    return {
        "slot": slot,
        "subject": round(max((c.subject for c in candidates), default=0.0), 4),
        "slot_subject": round(max((c.subject for c in holders), default=0.0), 4),
        "best_score": round(max((c.score for c in candidates), default=0.0), 4),
    }


def should_abstain(
    signals: dict,
    evidence: float,
    *,
    threshold: float,
    min_subject: float,
    slot_required: bool,
    max_unknown: float = 1.0,
) -> bool:
    """True when the playbook has no passage that states the asked-for fact about the
    asked-for subject (or is too far from the question's topic altogether).

    `max_unknown`: the largest idf-weighted share of the question's subject words that
    the playbook may never use (a "budget" it never mentions)."""
    if evidence < threshold:
        return True
    if signals.get("unknown", 0.0) > max_unknown:
        return True
    if slot_required and signals.get("slot_noun_found") is False:
        return True  # "the budget" is asked for and no passage states one
    if signals.get("subject", 0.0) < min_subject:
        return True
    # No sentence that states the asked-for kind of fact says anything about the subject.
    return bool(slot_required and signals.get("slot") and signals["slot_subject"] <= min_subject)


def _choose(slot: str | None, candidates: list[Candidate]) -> list[Candidate]:
    ranked = sorted(candidates, key=lambda c: -c.score)
    best = ranked[0]
    lead = best
    if slot is not None and not best.slot:
        holder = next((c for c in ranked if c.slot and c.score >= best.score - LEAD_MARGIN), None)
        lead = holder or best
    news = _newer_statement(ranked, best)
    if news is not None:
        chosen = [news]
        if not _CANCELLED.search(news.sentence) and not (slot and news.slot):
            value = next(
                (
                    c
                    for c in ranked
                    if c.source != news.source
                    and (c.slot or slot is None)
                    and c.subject >= news.subject * 0.5
                ),
                None,
            )
            if value is not None:
                chosen.append(value)
        if lead not in chosen and len(chosen) < 2 and not _CANCELLED.search(news.sentence):
            chosen.append(lead)
        return chosen[:MAX_SENTENCES]
    chosen = [lead]
    passages = {lead.number}
    for c in ranked:
        if len(chosen) == MAX_SENTENCES:
            break
        if c is lead or c.score < lead.score - FOLLOW_MARGIN:
            continue
        if c.number not in passages and len(passages) == 2:
            continue
        chosen.append(c)
        passages.add(c.number)
    # The slot holder leads; otherwise the passage is quoted in reading order
    # ("Yes, for exploration." before the sentence that explains it).
    rest = sorted(chosen[1:], key=lambda c: (c.number, c.position))
    if slot is not None and lead.slot:
        return [lead, *rest]
    return sorted(chosen, key=lambda c: (c.number != lead.number, c.number, c.position))


def _newer_statement(ranked: list[Candidate], best: Candidate) -> Candidate | None:
    """A change or confirmation from a newer passage on the same subject, if any."""
    dated = [c for c in ranked if c.updated]
    if not dated:
        return None
    for c in ranked:
        if not c.change or not c.updated or c.rank > 2 or c.subject < max(0.5, best.subject):
            continue
        older = [o for o in ranked if o.source != c.source and (o.updated or "") < c.updated]
        if older and c.subject >= 0.5 * max(o.subject for o in older):
            return c
    return None


def quote(selection: Selection) -> str:
    lines = [f"> {c.sentence} [{c.number}]" for c in selection.sentences]
    return "From the playbook:\n" + "\n".join(lines)
