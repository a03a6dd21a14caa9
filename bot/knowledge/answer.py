"""Answers with sources: extractive by default, an optional LLM on top.

The extractive answerer needs no model beyond the embedder: a close FAQ match gives
the FAQ's approved answer, otherwise the best sentences of the top passages are
quoted. The LLM answerer falls back to it on any error, timeout or bad citation.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Protocol

from bot.knowledge.answer_select import Selection, quote, select, should_abstain
from bot.knowledge.chunking import passage_text
from bot.knowledge.retrieve import Hit, HybridRetriever, Retrieval
from bot.knowledge.text import tokens
from bot.prompts import PromptLibrary

log = logging.getLogger(__name__)


@dataclass
class Source:
    number: int
    title: str
    path: str
    section: str
    type: str
    score: float
    text: str
    url: str = ""
    updated: str = ""

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("number")
        return data


@dataclass
class Answer:
    question: str
    text: str
    confident: bool
    sources: list[Source]
    kind: str  # "faq" | "extractive" | "llm" | "abstain" | "empty"
    evidence: float = 0.0
    notes: list[str] = field(default_factory=list)
    signals: dict = field(default_factory=dict)  # what the abstention rule read

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "confident": self.confident,
            "sources": [source.to_json() for source in self.sources],
        }


def evidence_score(retrieval: Retrieval, retriever: HybridRetriever) -> float:
    """How strongly the playbook supports an answer (compared with the abstain threshold).

    best dense similarity among the top hits
    + 0.6 x the idf-weighted share of the question's terms found in the best-covering hit
    - 0.3 x the share of the question's terms that appear nowhere in the playbook.
    The weights and the threshold were chosen on tests/eval/questions.yaml (see README).
    """
    if not retrieval.hits:
        return 0.0
    top = retrieval.hits[:3]
    dense = max((hit.dense or 0.0) for hit in top)
    terms = set(retrieval.query_terms)
    if not terms:
        return dense
    coverage = retriever.coverage(retrieval.query_terms)
    cover = max(coverage(hit) for hit in top)
    unknown = sum(1 for t in terms if t not in retriever.bm25.idf) / len(terms)
    return dense + 0.6 * cover - 0.3 * unknown


class Answerer:
    """Question in, `Answer` out. Collaborators come in through the constructor."""

    def __init__(
        self,
        *,
        retriever: HybridRetriever,
        prompts: PromptLibrary,
        llm=None,
        k: int = 4,
        abstain_threshold: float = 0.4,
        min_subject: float = 0.0,
        slot_required: bool = True,
        max_unknown: float = 1.0,
        faq_threshold: float = 0.72,
        llm_timeout: float = 30.0,
        help_channel: str = "#change-team",
    ) -> None:
        self.retriever = retriever
        self.prompts = prompts
        self.llm = llm
        self.k = k
        self.abstain_threshold = abstain_threshold
        self.min_subject = min_subject
        self.slot_required = slot_required
        self.max_unknown = max_unknown
        self.faq_threshold = faq_threshold
        self.llm_timeout = llm_timeout
        self.help_channel = help_channel
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="llm")

    def answer(
        self,
        question: str,
        *,
        doc_type: str | None = None,
        audience: str | None = None,
        stream: AnswerStream | None = None,
    ) -> Answer:
        """The answer to `question`. With `stream`, an LLM's words go to `stream.write` as they
        arrive; the returned Answer says whether they stood (kind "llm") or were replaced."""
        question = " ".join(question.split())
        if not question:
            return Answer(question, "Please type a question.", False, [], "abstain")
        if self.retriever.is_empty:
            text = self.prompts.get("empty_index").render()
            return Answer(question, text, False, [], "empty")
        retrieval = self.retriever.retrieve(
            question, k=max(self.k * 2, 8), doc_type=doc_type, audience=audience
        )
        sources = self._sources(retrieval.hits)
        evidence = evidence_score(retrieval, self.retriever)
        faq = self._faq_match(retrieval)
        numbers = {(s.path, s.section): s.number for s in sources}
        selection = select(question, retrieval, self.retriever, numbers)
        signals = {**selection.signals, "evidence": round(evidence, 4)}
        if faq is None and self.abstains(signals, evidence):
            text = self.prompts.get("abstain").render(help_channel=self.help_channel)
            return Answer(question, text, False, sources, "abstain", evidence, signals=signals)
        if faq is not None:
            hit, similarity = faq
            sources = self._sources([hit, *[h for h in retrieval.hits if h is not hit]])
            text = f"{self.retriever.faq_answer(hit)} [1]"
            return Answer(
                question, text, True, sources, "faq", max(evidence, similarity), signals=signals
            )
        if self.llm is not None:
            written = self._llm_answer(question, sources, stream)
            if isinstance(written, str):
                return Answer(question, written, True, sources, "llm", evidence)
            log.warning("LLM answer not used, falling back to extractive: %s", written.reason)
            extractive = self._extractive(question, selection, sources, evidence)
            extractive.notes.append(f"llm fallback: {written.reason}")
            return extractive
        return self._extractive(question, selection, sources, evidence)

    def abstains(self, signals: dict, evidence: float) -> bool:
        """The abstention rule with this answerer's thresholds (answer_select.should_abstain)."""
        return should_abstain(
            signals,
            evidence,
            threshold=self.abstain_threshold,
            min_subject=self.min_subject,
            slot_required=self.slot_required,
            max_unknown=self.max_unknown,
        )

    # -- pieces ----------------------------------------------------------------------------
    def _sources(self, hits: list[Hit]) -> list[Source]:
        sources: list[Source] = []
        seen: set[tuple[str, str]] = set()
        for hit in hits:
            meta = hit.metadata
            key = (meta.get("source", ""), meta.get("section", ""))
            if key in seen:
                continue
            seen.add(key)
            sources.append(
                Source(
                    number=len(sources) + 1,
                    title=meta.get("title", ""),
                    path=meta.get("source", ""),
                    section=meta.get("section", ""),
                    type=meta.get("type", "other"),
                    score=round(float(hit.dense if hit.dense is not None else hit.score), 4),
                    text=passage_text(hit.chunk.text),
                    url=meta.get("url", ""),
                    updated=meta.get("updated", ""),
                )
            )
            if len(sources) == self.k:
                break
        return sources

    def _faq_match(self, retrieval: Retrieval) -> tuple[Hit, float] | None:
        """A close FAQ question — that also mentions the question's distinctive words.

        Similar wording alone is not enough: "approve requests above €25,000" must not get
        the €10,000 entry, nor "dbt access for Tax" the Facilities one.
        """
        best: tuple[Hit, float] | None = None
        for hit in retrieval.hits[:5]:
            question = hit.metadata.get("faq_question")
            if not question:
                continue
            similarity = self.retriever.faq_similarity(retrieval.query_vector, question)
            if similarity < self.faq_threshold or (best is not None and similarity <= best[1]):
                continue
            if self._distinctive_terms_missing(retrieval, hit):
                continue
            best = (hit, similarity)
        return best

    def _distinctive_terms_missing(self, retrieval: Retrieval, hit: Hit) -> bool:
        """True when a rare word of the question (idf in the top third) is not in the entry."""
        idf = self.retriever.bm25.idf
        terms = [t for t in set(retrieval.query_terms) if t in idf]
        if not terms:
            return False
        cutoff = self.retriever.bm25.rare_idf
        present = set(tokens(hit.chunk.text))
        return any(idf[t] >= cutoff and t not in present for t in terms)

    def _extractive(
        self, question: str, selection: Selection, sources: list[Source], evidence: float
    ) -> Answer:
        if not selection.sentences:
            text = self.prompts.get("abstain").render(help_channel=self.help_channel)
            return Answer(
                question, text, False, sources, "abstain", evidence, signals=selection.signals
            )
        return Answer(
            question,
            quote(selection),
            True,
            sources,
            "extractive",
            evidence,
            signals={**selection.signals, "evidence": round(evidence, 4)},
        )

    def _llm_answer(
        self, question: str, sources: list[Source], stream: AnswerStream | None = None
    ) -> str | _Fallback:
        passages = "\n\n".join(
            f"[{s.number}] {s.title}"
            + (f" — {s.section}" if s.section else "")
            + (f" (updated {s.updated})" if s.updated else "")
            + f"\n{s.text}"
            for s in sources
        )
        messages = [
            ("system", self.prompts.get("answer_system").render()),
            ("human", self.prompts.get("answer_user").render(question=question, passages=passages)),
        ]
        call = self.llm.invoke if stream is None else partial(_streamed, self.llm, stream)
        future = self._pool.submit(call, messages)
        try:
            reply = future.result(timeout=self.llm_timeout)
        except FutureTimeout:
            future.cancel()
            if stream is not None:
                stream.close()  # words still arriving from the model go nowhere
            return _Fallback(f"timed out after {self.llm_timeout:g}s")
        except Exception as exc:
            log.warning("LLM call failed", exc_info=True)
            return _Fallback(f"{type(exc).__name__}: {exc}")
        text = getattr(reply, "content", reply)
        if isinstance(text, list):  # content blocks
            text = "".join(
                part.get("text", "") if isinstance(part, dict) else str(part) for part in text
            )
        text = str(text).strip()
        if not text or "NO_ANSWER" in text:
            return _Fallback("the model found no answer in the passages")
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
        if not cited:
            return _Fallback("the model cited no source")
        if not cited <= set(range(1, len(sources) + 1)):
            return _Fallback(f"the model cited sources that do not exist: {sorted(cited)}")
        return text


@dataclass
class _Fallback:
    reason: str


class AnswerStream(Protocol):
    """Where a streamed LLM answer's words go while they arrive (e.g. a Slack chat stream)."""

    def write(self, text: str) -> None: ...

    def close(self) -> None: ...


def _streamed(llm, stream: AnswerStream, messages) -> str:
    """The model's reply, passed to `stream` chunk by chunk; the whole text is returned for
    the same checks as an invoked reply."""
    parts: list[str] = []
    for chunk in llm.stream(messages):
        text = getattr(chunk, "content", chunk)
        if isinstance(text, list):
            text = "".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in text)
        if text:
            parts.append(str(text))
            stream.write(str(text))
    return "".join(parts)


def load_chat_model(spec: str):
    """Any LangChain chat model by 'provider:model' spec (imported only when configured)."""
    from langchain.chat_models import init_chat_model

    return init_chat_model(spec)
