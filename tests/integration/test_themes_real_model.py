"""Themes with the real bundled all-MiniLM-L6-v2: comments on clearly different subjects,
worded differently (no shared keywords to lean on), are grouped by meaning and named."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import BUNDLED_MODEL
from bot.knowledge.embeddings import load_sentence_transformer
from bot.surveys.clustering import adjusted_rand_index, cluster, normalise
from bot.surveys.themes import ThemeFinder

pytestmark = pytest.mark.integration

PARKING = [
    "There is never anywhere to park in the morning.",
    "The car park is full by 8am.",
    "I circle the parking lot for twenty minutes every day.",
    "Parking permits should be fairer for part-time staff.",
    "Not enough spaces for cars since the new building opened.",
    "Could we get more bike racks, the car park is packed.",
    "I had to park on the street and got a ticket.",
    "The garage barrier keeps breaking and we queue to get in.",
    "Parking spaces for visitors take up half the lot.",
    "Finding a parking spot makes me late for stand-up.",
    "Car parking fees went up again this month.",
    "The multi-storey car park is dark and feels unsafe at night.",
]
FOOD = [
    "The canteen food has got much better, the salads are great.",
    "Lunch options for vegetarians are very limited.",
    "The coffee machine on the third floor is always broken.",
    "Meals in the cafeteria are too expensive now.",
    "I love the new menu in the staff restaurant.",
    "The queue for lunch is twenty minutes long at noon.",
    "Could the canteen stay open later for the evening shift?",
    "Hot food runs out before the late lunch sitting.",
    "Free fruit in the kitchen is a nice touch.",
    "The sandwiches in the cafe are stale by the afternoon.",
    "Please add more healthy breakfast options.",
    "The kitchen microwaves are filthy and there are only two.",
]


@pytest.fixture(scope="module")
def embeddings():
    return load_sentence_transformer(BUNDLED_MODEL)


def test_the_real_model_separates_two_subjects(embeddings):
    texts = PARKING + FOOD
    vectors = normalise(np.asarray(embeddings.embed_documents(texts)))
    labels, _ = cluster(vectors, max_groups=4)
    truth = [0] * len(PARKING) + [1] * len(FOOD)
    assert adjusted_rand_index(truth, list(labels)) >= 0.8


def test_themes_with_the_real_model_are_named_by_their_subject(embeddings):
    finder = ThemeFinder(embed=embeddings.embed_documents)
    themes = finder.find(PARKING + FOOD, threshold=10)
    assert themes.shown and len(themes.themes) == 2
    names = " ".join(theme.name for theme in themes.themes)
    assert "park" in names  # "parking", "car park" or "park"
    assert any(word in names for word in ("lunch", "canteen", "food", "kitchen"))
    for theme in themes.themes:
        assert sum(theme.sentiment.values()) == theme.count and len(theme.examples) == 2
