"""Sealing a closed run: the stored responses say no more about people than the reports.

While a run is open its responses carry the respondent key (to replace a re-submitted
answer) and each person's exact labels. Once it has closed neither is needed:

- `forget_who` keeps the run's invited / delivered / answered counts, deletes the
  invitations (who was asked, reached and reminded) and erases every respondent key, so
  not even the secret links a response to a person any more;
- `seal_responses` gives every response the labels of its block (the partition the
  reports publish from, bot.surveys.suppression), so every stored label combination
  covers at least the threshold of respondents, and rewrites the run's rows in random
  order under new random ids, so neither ids nor storage order follow the order people
  answered in. Reports of a sealed run publish the same figures as before sealing.
"""

from __future__ import annotations

import random
import uuid

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from bot.store.models import SurveyInvitation, SurveyResponse, SurveyRun
from bot.surveys.aggregate import run_cells
from bot.surveys.definitions import Survey
from bot.surveys.suppression import GROUP_DIMENSIONS, attributes_of, labels_of, partition


def forget_who(session: Session, run_id: int, counts: dict[str, int]) -> None:
    """Keep the counts on the run; delete the invitations; erase the respondent keys."""
    session.execute(
        update(SurveyRun)
        .where(SurveyRun.id == run_id)
        .values(
            invited_count=counts["invited"],
            delivered_count=counts["delivered"],
            answered_count=counts["answered"],
        )
    )
    session.execute(delete(SurveyInvitation).where(SurveyInvitation.run_id == run_id))
    session.execute(
        update(SurveyResponse).where(SurveyResponse.run_id == run_id).values(respondent_key=None)
    )


def seal_responses(session: Session, survey: Survey, run_id: int, rng: random.Random) -> int:
    """Widen each response's labels to its block and rewrite the rows shuffled; returns
    how many rows were rewritten. Responses without a score lose their labels (no
    report groups them)."""
    cells = run_cells(session, survey, run_id, dimensions=GROUP_DIMENSIONS)
    widened = {}
    for block in partition(cells, survey.anonymity.scores):
        for part in block.members:
            widened[part] = attributes_of(block.labels)
    table = SurveyResponse.__table__
    found = session.execute(select(table).where(table.c.run_id == run_id))
    rows = [dict(row._mapping) for row in found]
    if not rows:
        return 0
    rng.shuffle(rows)
    for row in rows:
        row["attributes"] = widened.get(labels_of(row["attributes"]), {})
        row["respondent_key"] = None
        row["id"] = uuid.uuid4().hex
    session.execute(delete(table).where(table.c.run_id == run_id))
    session.execute(insert(table), rows)
    return len(rows)
