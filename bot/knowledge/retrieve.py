"""Hybrid retrieval: dense (Chroma) + keyword (BM25), fused by reciprocal rank.

The keyword index is built in memory from the chunks in the store and rebuilt when
the index generation pointer or the record manager shows the index changed (another
process may have ingested).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.knowledge.ranking import newer_wins_ties as _newer_wins_ties
from bot.knowledge.ranking import newest_word_first as _newest_word_first
from bot.knowledge.store import Chunk, PlaybookStore
from bot.knowledge.text import tokens
from bot.knowledge.vocab import Vocabulary, normalise

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "dense", "keyword"]
FAQ_FLOOR = 0.5  # an FAQ question less similar than this adds no evidence
HEADING_BOOST = 3  # heading words count this many times in the keyword index
DEFINITION_WEIGHT = 0.7  # glossary entries rank lower unless the question asks "what is …"
_DEFINITIONAL = re.compile(r"^\s*(what('?s| is| are| does)|whats|define|meaning of)\b", re.I)


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused score (or the single retriever's score in baseline modes)
    dense: float | None = None  # cosine similarity to the question
    keyword: float | None = None  # BM25 score

    @property
    def metadata(self) -> dict:
        return self.chunk.metadata


@dataclass
class Retrieval:
    question: str
    hits: list[Hit]
    query_vector: list[float] = field(repr=False, default_factory=list)
    query_terms: list[str] = field(default_factory=list)


class Bm25:
    """Okapi BM25 over an in-memory inverted index, scored with numpy."""

    def __init__(self, documents: list[list[str]], *, k1: float = 1.2, b: float = 0.75):
        self.size = len(documents)
        lengths = np.array([len(d) for d in documents], dtype=np.float32)
        self.avgdl = float(lengths.mean()) if self.size else 0.0
        postings: dict[str, dict[int, int]] = defaultdict(dict)
        for doc_id, terms in enumerate(documents):
            for term in terms:
                postings[term][doc_id] = postings[term].get(doc_id, 0) + 1
        norm = k1 * (1 - b + b * lengths / max(self.avgdl, 1e-9))
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._near: dict[str, list[str]] = defaultdict(list)  # one-deletion spelling index
        self.idf: dict[str, float] = {}
        for term, entries in postings.items():
            ids = np.fromiter(entries.keys(), dtype=np.int64)
            tf = np.fromiter(entries.values(), dtype=np.float32)
            self.postings[term] = (ids, tf * (k1 + 1) / (tf + norm[ids]))
            df = len(entries)
            self.idf[term] = math.log(1 + (self.size - df + 0.5) / (df + 0.5))
            if len(term) >= 4 and not term.isdigit():
                for variant in _deletions(term):
                    self._near[variant].append(term)
        # Corpus-wide figures the answerer needs per question, computed once per build.
        self.vocabulary = Vocabulary({term: len(ids) for term, (ids, _) in self.postings.items()})
        ranked = sorted(self.idf.values())
        self.max_idf = ranked[-1] if ranked else 1.0
        self.rare_idf = ranked[int(len(ranked) * 2 / 3)] if ranked else 0.0  # top third

    def correct(self, terms: list[str]) -> list[str]:
        """Replace unknown terms by a known one within one typo (the most common such term)."""
        corrected = []
        for term in terms:
            if term in self.postings or len(term) < 5 or term.isdigit():
                corrected.append(term)
                continue
            candidates = {
                c
                for v in (term, *_deletions(term))
                for c in self._near.get(v, ())
                if _one_edit(term, c)
            }
            if candidates:
                term = max(candidates, key=lambda c: (len(self.postings[c][0]), c))
            corrected.append(term)
        return corrected

    def scores(self, terms: list[str]) -> np.ndarray:
        scores = np.zeros(self.size, dtype=np.float32)
        for term in set(terms):
            posting = self.postings.get(term)
            if posting is not None:
                ids, weights = posting
                scores[ids] += self.idf[term] * weights
        return scores


def _deletions(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


def _one_edit(a: str, b: str) -> bool:
    """True when b is a or one insertion, deletion, substitution or swap away from it."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and (a[diff[1]] == b[diff[0]])
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


class HybridRetriever:
    def __init__(
        self,
        *,
        store: PlaybookStore,
        embeddings: Embeddings,
        on_switch: Callable[[], object] | None = None,
        candidates: int = 30,
        rrf_k: int = 10,
        keyword_weight: float = 1.3,
        faq_weight: float = 0.5,
        tie_margin: float = 0.15,
        announcement_margin: float = 0.0,
        freshness_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.on_switch = on_switch  # after another generation became live (see refresh)
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.keyword_weight = keyword_weight
        self.faq_weight = faq_weight
        self.tie_margin = tie_margin
        self.announcement_margin = announcement_margin
        self.freshness_seconds = freshness_seconds
        self._lock = threading.Lock()
        self._generation: tuple[int, int, int] | None = None
        self._checked_at = 0.0
        self.chunks: list[Chunk] = []
        self._by_id: dict[str, int] = {}
        self.bm25 = Bm25([])
        self._faq_questions: list[str] = []
        self._faq_matrix = np.zeros((0, 1), dtype=np.float32)
        self._faq_chunks: dict[str, list[int]] = defaultdict(list)
        self.faq_vectors: dict[str, np.ndarray] = {}
        self._rows: dict[tuple[str, str], list[int]] = defaultdict(list)

    # -- keeping the keyword index fresh ---------------------------------------------
    def refresh(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < self.freshness_seconds and self.chunks:
            return
        with self._lock:
            self._checked_at = now
            generation = self._current_generation()
            if not force and generation == self._generation and self._generation is not None:
                return
            if self._generation is not None and generation[0] != self._generation[0]:
                # An ingest elsewhere made another generation live: let the owner put back
                # what it wrote into the old one meanwhile (leaders' updates).
                if self.on_switch is not None:
                    try:
                        self.on_switch()
                    except Exception:  # answering goes on; the next switch or ingest repairs
                        log.exception("Could not bring the new index generation up to date")
                generation = self._current_generation()
            chunks = self.store.all_chunks()
            self.chunks = chunks
            self._by_id = {chunk.id: i for i, chunk in enumerate(chunks)}
            self.bm25 = Bm25([_keyword_terms(chunk.text) for chunk in chunks], b=0.5)
            questions = sorted(
                {c.metadata["faq_question"] for c in chunks if c.metadata.get("faq_question")}
            )
            # Only questions not seen before are embedded; the rest keep their vectors.
            new = [q for q in questions if q not in self.faq_vectors]
            fresh = self.embeddings.embed_documents(new) if new else []
            known = {**self.faq_vectors}
            known.update(
                {q: np.asarray(v, dtype=np.float32) for q, v in zip(new, fresh, strict=True)}
            )
            self.faq_vectors = {q: known[q] for q in questions}
            vectors = [self.faq_vectors[q] for q in questions]
            self._faq_questions = questions
            self._faq_matrix = (
                np.asarray(vectors, dtype=np.float32)
                if questions
                else np.zeros((0, 1), dtype=np.float32)
            )
            self._faq_chunks = defaultdict(list)
            for i, chunk in enumerate(chunks):
                if chunk.metadata.get("faq_question"):
                    self._faq_chunks[chunk.metadata["faq_question"]].append(i)
            self._rows = defaultdict(list)
            for i, chunk in enumerate(chunks):
                if chunk.metadata.get("unit") == "row":
                    self._rows[_place(chunk.metadata)].append(i)
            self._generation = generation

    def _current_generation(self) -> tuple[int, int, int]:
        """(live generation, chunk count, newest chunk row): changes with any ingest."""
        self.store.follow()
        return (self.store.generation.number, *self.store.record_manager.fingerprint())

    @property
    def is_empty(self) -> bool:
        self.refresh()
        return not self.chunks

    # -- retrieval -------------------------------------------------------------------------
    def retrieve(
        self,
        question: str,
        *,
        k: int = 10,
        doc_type: str | None = None,
        audience: str | None = None,
        mode: Mode = "hybrid",
    ) -> Retrieval:
        self.refresh()
        text, terms = normalise(question, self.bm25.vocabulary, self.bm25.correct)
        if not self.chunks:
            return Retrieval(question, [], [], terms)
        vector = self.embeddings.embed_query(text) if mode != "keyword" else []
        allowed = self._allowed(doc_type, audience)
        dense = self._dense(vector, doc_type, audience) if mode != "keyword" else []
        keyword = self._keyword(terms, allowed) if mode != "dense" else []
        if mode == "dense":
            hits = [Hit(self.chunks[i], s, dense=s) for i, s in dense]
        elif mode == "keyword":
            hits = [Hit(self.chunks[i], s, keyword=s) for i, s in keyword]
        else:
            hits = self._fuse(dense, keyword, self._faq_ranked(vector, allowed), question=question)
        hits = _one_per_section(hits)[:k]
        if vector:
            self._fill_dense(hits, vector)
            if mode == "hybrid":
                hits = _newest_word_first(hits, self.announcement_margin, self.coverage(terms))
        return Retrieval(question, hits, vector, terms)

    def _allowed(self, doc_type: str | None, audience: str | None) -> np.ndarray | None:
        if not doc_type and not audience:
            return None
        mask = np.ones(len(self.chunks), dtype=bool)
        for i, chunk in enumerate(self.chunks):
            if (doc_type and chunk.metadata.get("type") != doc_type) or (
                audience and not _audience_ok(chunk.metadata, audience)
            ):
                mask[i] = False
        return mask

    def _dense(self, vector, doc_type, audience) -> list[tuple[int, float]]:
        clauses: list[dict] = []
        if doc_type:
            clauses.append({"type": doc_type})
        if audience:
            clauses.append({"$or": [{f"aud_{_slug(audience)}": True}, {"aud_everyone": True}]})
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        found = self.store.dense_search(vector, k=self.candidates, where=where)
        return [(self._by_id[i], s) for i, s in found if i in self._by_id]

    def _keyword(self, terms: list[str], allowed: np.ndarray | None) -> list[tuple[int, float]]:
        if not terms:
            return []
        scores = self.bm25.scores(terms)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        count = min(self.candidates, int(np.count_nonzero(scores)))
        if count == 0:
            return []
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top]

    def _faq_ranked(self, vector, allowed: np.ndarray | None) -> list[tuple[int, float]]:
        """FAQ entries ranked by how close their question is to the user's question."""
        if not self._faq_questions or not vector:
            return []
        query = np.asarray(vector, dtype=np.float32)
        similarities = self._faq_matrix @ query
        order = np.argsort(-similarities)[: self.candidates]
        ranked = []
        for position in order:
            if similarities[position] < FAQ_FLOOR:
                break
            for i in self._faq_chunks[self._faq_questions[position]]:
                if allowed is None or allowed[i]:
                    ranked.append((i, float(similarities[position])))
        return ranked

    def _fuse(self, dense, keyword, faq=(), *, question: str = "") -> list[Hit]:
        """Weighted reciprocal-rank fusion of the dense, keyword and FAQ-question lists."""
        fused: dict[int, Hit] = {}
        for ranked, weight, field_name in (
            (dense, 1.0, "dense"),
            (keyword, self.keyword_weight, "keyword"),
            (faq, self.faq_weight, None),
        ):
            for rank, (i, score) in enumerate(ranked):
                hit = fused.setdefault(i, Hit(self.chunks[i], 0.0))
                hit.score += weight / (self.rrf_k + rank + 1)
                if field_name:
                    setattr(hit, field_name, score)
        if not _DEFINITIONAL.match(question):
            for hit in fused.values():
                if hit.metadata.get("definition"):
                    hit.score *= DEFINITION_WEIGHT
        hits = sorted(fused.values(), key=lambda h: -h.score)
        return _newer_wins_ties(hits, self.tie_margin)

    def coverage(self, terms: list[str]) -> Callable[[Hit], float]:
        """The idf-weighted share of the question's words that a hit's text contains
        (a word the playbook never uses weighs as much as its rarest word)."""
        idf = self.bm25.idf
        weight = {t: idf.get(t, self.bm25.max_idf) for t in set(terms)}
        total = sum(weight.values()) or 1.0

        def coverage(hit: Hit) -> float:
            present = set(tokens(hit.chunk.text))
            return sum(w for t, w in weight.items() if t in present) / total

        return coverage

    def _fill_dense(self, hits: list[Hit], vector: list[float]) -> None:
        missing = [hit for hit in hits if hit.dense is None]
        if not missing:
            return
        by_id = self.store.embeddings_of([hit.chunk.id for hit in missing])
        query = np.asarray(vector, dtype=np.float32)
        for hit in missing:
            emb = by_id.get(hit.chunk.id)
            if emb is not None:
                emb = np.asarray(emb, dtype=np.float32)
                hit.dense = float(emb @ query / (np.linalg.norm(emb) * np.linalg.norm(query)))

    # -- what the playbook holds (App Home, suggested prompts) ------------------------------
    def faq_examples(self, limit: int = 4) -> list[str]:
        """FAQ questions to suggest, from the most recently updated FAQs first."""
        self.refresh()
        seen: dict[str, str] = {}
        for chunk in self.chunks:
            question = chunk.metadata.get("faq_question")
            if question and question not in seen:
                seen[question] = chunk.metadata.get("updated") or ""
        ordered = sorted(seen, key=lambda q: (seen[q], -len(q)), reverse=True)
        return ordered[:limit]

    def documents(self, doc_type: str | None = None, limit: int = 5) -> list[dict]:
        """Distinct documents (title, path, updated, url), newest first."""
        self.refresh()
        docs: dict[str, dict] = {}
        for chunk in self.chunks:
            meta = chunk.metadata
            if doc_type and meta.get("type") != doc_type:
                continue
            docs.setdefault(
                meta.get("source", ""),
                {
                    "title": meta.get("title", ""),
                    "path": meta.get("source", ""),
                    "updated": meta.get("updated", ""),
                    "url": meta.get("url", ""),
                },
            )
        return sorted(docs.values(), key=lambda d: (d["updated"], d["title"]), reverse=True)[:limit]

    def faq_answer(self, hit: Hit) -> str:
        """The whole approved answer of an FAQ entry, even when it was split into chunks."""
        question = hit.metadata.get("faq_question")
        source = hit.metadata.get("source")
        parts = sorted(
            (
                self.chunks[i]
                for i in self._faq_chunks.get(question, [])
                if self.chunks[i].metadata.get("source") == source
            ),
            key=lambda chunk: chunk.metadata.get("chunk", 0),
        ) or [hit.chunk]
        answers = []
        for chunk in parts:
            body = chunk.text.split("\n", 1)[-1]  # drop the context line
            answers.append(body.split("\n", 1)[-1].strip())  # drop the question line
        return "\n\n".join(answers)

    def table_rows_of(self, hit: Hit) -> list[Chunk]:
        """The table-row units of the section a hit comes from (in document order)."""
        rows = [self.chunks[i] for i in self._rows.get(_place(hit.metadata), [])]
        return sorted(rows, key=lambda chunk: chunk.metadata.get("chunk", 0))

    def faq_similarity(self, question_vector: list[float], faq_question: str) -> float:
        vector = self.faq_vectors.get(faq_question)
        if vector is None or not question_vector:
            return 0.0
        query = np.asarray(question_vector, dtype=np.float32)
        return float(vector @ query / (np.linalg.norm(vector) * np.linalg.norm(query) + 1e-9))


def _keyword_terms(text: str) -> list[str]:
    context, _, body = text.partition("\n")
    return tokens(context) * HEADING_BOOST + tokens(body)


def _one_per_section(hits: list[Hit]) -> list[Hit]:
    """The best-ranked hit of each section first, the other hits of a section after all
    of those: a table row or list item and the section that holds it are one place to
    the reader (the answerer reads the rows of a section it quotes, see `table_rows_of`),
    so they should not take two of the top places."""
    seen: set[tuple[str, str]] = set()
    first, later = [], []
    for hit in hits:
        place = _place(hit.metadata)
        (later if place in seen else first).append(hit)
        seen.add(place)
    return first + later


def _place(metadata: dict) -> tuple[str, str]:
    return (metadata.get("source", ""), metadata.get("section", ""))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower())


def _audience_ok(metadata: dict, audience: str) -> bool:
    return bool(metadata.get(f"aud_{_slug(audience)}") or metadata.get("aud_everyone"))
