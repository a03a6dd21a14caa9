"""Pulse surveys: definitions loaded from YAML, and scores computed from responses.

Pure domain code: no Slack, no database. Scheduling, storage and delivery build on it.
"""

from bot.surveys.definitions import (
    ADKAR_STAGES,
    DIMENSIONS,
    Anonymity,
    Audience,
    Cadence,
    LoadResult,
    Question,
    Survey,
    SurveyError,
    load_surveys,
)
from bot.surveys.scoring import (
    GroupScore,
    Response,
    barrier_point,
    dimension_means,
    index_0_100,
    participation,
    stage_profile,
)
from bot.surveys.suppression import allowed_comments, breakdown, overall

__all__ = [
    "ADKAR_STAGES",
    "DIMENSIONS",
    "Anonymity",
    "Audience",
    "Cadence",
    "GroupScore",
    "LoadResult",
    "Question",
    "Response",
    "Survey",
    "SurveyError",
    "allowed_comments",
    "barrier_point",
    "breakdown",
    "dimension_means",
    "index_0_100",
    "load_surveys",
    "overall",
    "participation",
    "stage_profile",
]
