"""Pulse surveys in Slack: open the modal, take the answers once, thank the person."""

from __future__ import annotations

import json
import logging

from slack_bolt import App

from bot.slack import survey_blocks as kit
from bot.surveys.runs import InvalidAnswers, NotInvited, SurveyClosed

log = logging.getLogger(__name__)
LOW = 2.5  # a mean at or below this on confidence / knowledge / ability suggests training
TRAINING_DIMENSIONS = ("confidence", "knowledge", "ability")


def register(app: App, container) -> None:
    @app.action(kit.OPEN)
    def handle_pulse_open(ack, body, action, client):
        ack()
        run_id = int(action["value"])
        user = body["user"]["id"]
        run = _run(container, run_id)
        survey = container.surveys().surveys.get(run.survey_id) if run else None
        channel = (body.get("container") or {}).get("channel_id") or (
            body.get("channel") or {}
        ).get("id", "")
        ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get(
            "ts", ""
        )
        if run is None or survey is None:
            client.chat_postEphemeral(
                channel=channel, user=user, text="This survey is no longer available."
            )
            return
        if run.status == "closed" or container.survey_runs.clock() >= run.closes_at:
            client.chat_postEphemeral(
                channel=channel, user=user, text=kit.closed_notice(run.closes_at.date())
            )
            return
        client.views_open(
            trigger_id=body["trigger_id"],
            view=kit.pulse_modal(survey, run_id, channel=channel, ts=ts),
        )

    @app.view(kit.SUBMIT)
    def handle_pulse_submit(ack, body, view, client):
        meta = json.loads(view.get("private_metadata") or "{}")
        run_id = int(meta.get("run", 0))
        user = body["user"]["id"]
        run = _run(container, run_id)
        survey = container.surveys().surveys.get(run.survey_id) if run else None
        first_block = (view.get("blocks") or [{}])[-1].get("block_id", "")
        if run is None or survey is None:
            ack(response_action="errors", errors={first_block: "This survey no longer exists."})
            return
        answers = kit.answers_from_state(survey, view["state"]["values"])
        person = container.directory.get(user)
        attributes = {
            "department": getattr(person, "department", "") or "",
            "team": getattr(person, "team", "") or "",
            "location": getattr(person, "location", "") or "",
        }
        try:
            result = container.survey_runs.submit(run_id, user, answers, attributes)
        except SurveyClosed as closed:
            ack(response_action="errors", errors={first_block: kit.closed_notice(closed.closed_on)})
            return
        except NotInvited:
            ack(
                response_action="errors",
                errors={first_block: "You were not invited to this run, so it cannot count."},
            )
            return
        except InvalidAnswers as invalid:
            ack(response_action="errors", errors={first_block: str(invalid)[:150]})
            return
        ack()
        trainings = suggest_training(container, survey, answers)
        message = kit.thanks(survey, trainings, replaced=result.replaced)
        if meta.get("channel") and meta.get("ts"):
            client.chat_update(channel=meta["channel"], ts=meta["ts"], **message)
        else:
            client.chat_postMessage(channel=user, **message)


def _run(container, run_id: int):
    try:
        return container.survey_runs.get_run(run_id)
    except LookupError:
        return None


def suggest_training(container, survey, answers) -> list[dict]:
    """Two training documents when confidence, knowledge or ability looks low."""
    from bot.surveys.scoring import Response, dimension_means

    means = dimension_means(survey, [Response(answers=answers)])
    low = [d for d in TRAINING_DIMENSIONS if means.get(d) is not None and means[d] <= LOW]
    if not low:
        return []
    topics = {
        "confidence": "getting started with the new tools",
        "knowledge": "training course how the new way of working works",
        "ability": "hands-on step-by-step guide",
    }
    query = f"{survey.title}: " + "; ".join(topics[d] for d in low)
    retrieval = container.retriever.retrieve(query, k=10, doc_type="training")
    documents: dict[str, dict] = {}
    for hit in retrieval.hits:
        meta = hit.metadata
        documents.setdefault(
            meta.get("source", ""),
            {
                "title": meta.get("title", ""),
                "path": meta.get("source", ""),
                "url": meta.get("url"),
            },
        )
        if len(documents) == 2:
            break
    return list(documents.values())
