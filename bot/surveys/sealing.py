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

Both are a few set-based statements: a run of 100,000 responses never passes through
Python.
"""

from __future__ import annotations

import json

from sqlalchemy import JSON, Text, case, cast, delete, func, insert, literal, null, select, update
from sqlalchemy.orm import Session

from bot.store.models import SurveyInvitation, SurveyResponse, SurveyRun
from bot.surveys.aggregate import run_cells
from bot.surveys.definitions import Survey
from bot.surveys.suppression import GROUP_DIMENSIONS, attributes_of, labels_of, partition

_OLD = "old:"  # marks a row being rewritten (in the key, which is unique per run)


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


def seal_responses(session: Session, survey: Survey, run_id: int) -> None:
    """Widen each response's labels to its block's, then rewrite the run's rows shuffled.

    Responses without a score lose their labels (no report groups them).
    """
    dialect = session.get_bind().dialect.name
    table = SurveyResponse.__table__
    stored = cast(table.c.attributes, Text)
    mine = table.c.run_id == run_id
    cells = run_cells(session, survey, run_id, dimensions=GROUP_DIMENSIONS)
    widened = {}
    for block in partition(cells, survey.anonymity.scores):
        for part in block.members:
            widened[part] = json.dumps(attributes_of(block.labels))
    spellings = session.scalars(select(stored).where(mine).distinct()).all()
    to_block = {text: widened.get(labels_of(json.loads(text)), "{}") for text in spellings}
    if not to_block:
        return
    labels = case(to_block, value=stored, else_="{}")
    # 1. New labels, and each row marked as old (the key is unique per run, so is the mark).
    session.execute(
        update(table)
        .where(mine)
        .values(
            attributes=cast(labels, JSON) if dialect == "postgresql" else labels,
            respondent_key=literal(_OLD) + table.c.id,
        )
    )
    # 2. A copy of every row in random order, under new random ids and without a key …
    if dialect == "postgresql":
        new_id = func.md5(cast(func.random(), Text) + cast(func.clock_timestamp(), Text))
    else:
        new_id = func.lower(func.hex(func.randomblob(16)))
    copied = [c for c in table.c if c.name not in {"id", "respondent_key"}]
    session.execute(
        insert(table).from_select(
            ["id", "respondent_key", *(c.name for c in copied)],
            select(new_id, null(), *copied)
            .where(mine, table.c.respondent_key.startswith(_OLD))
            .order_by(func.random()),
        )
    )
    # 3. … and the old rows gone (SQLite overwrites their content: secure_delete).
    session.execute(delete(table).where(mine, table.c.respondent_key.startswith(_OLD)))
