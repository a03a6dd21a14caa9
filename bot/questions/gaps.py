"""Knowledge gaps: the questions the bot abstained on, got 👎 for, or escalated, grouped by
meaning so the change team answers each gap once.

Grouping: the distinct wordings are embedded (the container's embedding model) and put,
most asked first, into the first group whose centroid is within `distance` (cosine
distance) of them, else into a new group ("leader" clustering: one pass, deterministic,
numpy only). A group a captured answer already covers (its question within `distance` of
the group, written after the group was last asked) is left out: it is answered now.
Read side only; never talks to Slack.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.questions.insights import ABSTAINED_KINDS, normalise
from bot.store.models import CapturedAnswer, Escalation, Feedback, Interaction
from bot.timeutil import as_utc, utcnow

ABSTAINED, UNHELPFUL, ESCALATED = "abstained", "unhelpful", "escalated"
KIND_LABELS = {ABSTAINED: "no answer", UNHELPFUL: "👎", ESCALATED: "escalated"}
DEFAULT_DISTANCE = 0.4  # cosine distance; chosen before any measurement, see README
_SINCE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.I)


@dataclass
class GapGroup:
    question: str  # the most asked wording
    count: int  # asks in the window
    phrasings: list[str]  # up to three wordings as asked, most asked first
    kinds: Counter = field(default_factory=Counter)  # abstained / unhelpful / escalated
    last_asked: dt.datetime | None = None
    interaction_ids: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "count": self.count,
            "phrasings": self.phrasings,
            "kinds": dict(self.kinds),
            "last_asked": self.last_asked.isoformat() if self.last_asked else None,
        }


def parse_since(value: str, *, now: dt.datetime) -> dt.datetime:
    """'7d', '24h', '2w' before `now`, or an ISO date; ValueError with what to write."""
    match = _SINCE.match(value or "")
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        hours = {"h": 1, "d": 24, "w": 24 * 7}[unit] * amount
        return now - dt.timedelta(hours=hours)
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"'{value}' is not a period: write 7d, 24h, 2w or a date (2026-11-01)"
        ) from None
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def cluster(vectors: np.ndarray, weights: Sequence[int], distance: float) -> list[list[int]]:
    """Indexes grouped: each row (taken in the given order) joins the first group whose
    weighted centroid is within `distance` (cosine), else starts a new one."""
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms == 0, 1, norms)
    for i, vector in enumerate(unit):
        best, best_sim = None, 1.0 - distance
        for g, total in enumerate(sums):
            centroid = total / (np.linalg.norm(total) or 1.0)
            similarity = float(centroid @ vector)
            if similarity >= best_sim:
                best, best_sim = g, similarity
        if best is None:
            groups.append([i])
            sums.append(vector * weights[i])
        else:
            groups[best].append(i)
            sums[best] = sums[best] + vector * weights[i]
    return groups


class GapFinder:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        embed: Callable[[list[str]], list[list[float]]],
        distance: float = DEFAULT_DISTANCE,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions = session_factory
        self.embed = embed
        self.distance = distance
        self.clock = clock

    def gaps(self, since: dt.datetime, *, limit: int | None = None) -> list[GapGroup]:
        """Groups of unanswered questions asked since `since`, largest first."""
        asks = self._asks(since)
        if not asks:
            return []
        wordings: dict[str, Counter] = defaultdict(Counter)
        for ask in asks:
            wordings[ask["key"]][ask["text"]] += 1
        keys = sorted(wordings, key=lambda k: (-sum(wordings[k].values()), k))
        texts = [wordings[k].most_common(1)[0][0] for k in keys]
        vectors = np.asarray(self.embed(texts), dtype=np.float32)
        weights = [sum(wordings[k].values()) for k in keys]
        by_key = defaultdict(list)
        for ask in asks:
            by_key[ask["key"]].append(ask)
        groups: list[GapGroup] = []
        centroids: list[np.ndarray] = []
        for members in cluster(vectors, weights, self.distance):
            phrasings: Counter = Counter()
            group = GapGroup(question="", count=0, phrasings=[])
            for index in members:
                for ask in by_key[keys[index]]:
                    phrasings[ask["text"]] += 1
                    group.count += 1
                    group.kinds.update(ask["kinds"])
                    group.interaction_ids.append(ask["id"])
                    if group.last_asked is None or ask["at"] > group.last_asked:
                        group.last_asked = ask["at"]
            ranked = [text for text, _ in phrasings.most_common()]
            group.question, group.phrasings = ranked[0], _distinct(ranked)[:3]
            groups.append(group)
            total = sum(vectors[i] * weights[i] for i in members)
            centroids.append(total / (np.linalg.norm(total) or 1.0))
        kept = self._uncovered(groups, centroids)
        kept.sort(key=lambda g: (-g.count, -(g.last_asked.timestamp() if g.last_asked else 0)))
        return kept[:limit] if limit else kept

    def _asks(self, since: dt.datetime) -> list[dict]:
        """Every ask in the window the bot did not answer well, with why (one or more kinds)."""
        with self.sessions() as session:
            abstained = session.execute(
                select(Interaction.id).where(
                    Interaction.created_at >= since, Interaction.kind.in_(ABSTAINED_KINDS)
                )
            ).scalars()
            unhelpful = session.execute(
                select(Feedback.interaction_id)
                .join(Interaction, Interaction.id == Feedback.interaction_id)
                .where(Interaction.created_at >= since, Feedback.helpful.is_(False))
            ).scalars()
            escalated = session.execute(
                select(Escalation.interaction_id)
                .join(Interaction, Interaction.id == Escalation.interaction_id)
                .where(Interaction.created_at >= since)
            ).scalars()
            kinds: dict[int, set[str]] = defaultdict(set)
            for kind, ids in (
                (ABSTAINED, abstained),
                (UNHELPFUL, unhelpful),
                (ESCALATED, escalated),
            ):
                for interaction_id in ids:
                    kinds[interaction_id].add(kind)
            if not kinds:
                return []
            rows = session.execute(
                select(Interaction.id, Interaction.question, Interaction.created_at).where(
                    Interaction.id.in_(list(kinds))
                )
            ).all()
        asks = []
        for interaction_id, question, created_at in sorted(rows):
            key = normalise(question)
            if key:
                text = " ".join(question.split())
                at = as_utc(created_at)
                asks.append(
                    {
                        "id": interaction_id,
                        "key": key,
                        "text": text,
                        "at": at,
                        "kinds": kinds[interaction_id],
                    }
                )
        return asks

    def _uncovered(self, groups: list[GapGroup], centroids: list[np.ndarray]) -> list[GapGroup]:
        """The groups no captured answer written after their last ask covers."""
        with self.sessions() as session:
            captured = session.execute(
                select(CapturedAnswer.question, CapturedAnswer.created_at).where(
                    CapturedAnswer.status == "approved"
                )
            ).all()
        if not captured or not groups:
            return list(groups)
        vectors = np.asarray(self.embed([q for q, _ in captured]), dtype=np.float32)
        vectors /= np.where(
            np.linalg.norm(vectors, axis=1, keepdims=True) == 0,
            1,
            np.linalg.norm(vectors, axis=1, keepdims=True),
        )
        kept = []
        for group, centroid in zip(groups, centroids, strict=True):
            similar = vectors @ centroid >= 1.0 - self.distance
            after = [as_utc(at) >= group.last_asked for _, at in captured]
            if not any(s and a for s, a in zip(similar, after, strict=True)):
                kept.append(group)
        return kept


def _distinct(texts: list[str]) -> list[str]:
    """Wordings that differ in more than case and end punctuation."""
    seen, out = set(), []
    for text in texts:
        key = normalise(text)
        if key not in seen:
            seen.add(key)
            out.append(text)
    return out
