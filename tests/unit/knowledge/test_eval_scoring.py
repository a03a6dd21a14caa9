"""The scoring arithmetic of `changebot eval`, on hand-made outcomes."""

from __future__ import annotations

import pytest

from bot.knowledge.eval_scoring import (
    ALWAYS,
    NEVER,
    Metrics,
    Outcome,
    choose_threshold,
    contains_phrase,
    first_hit_rank,
    leave_one_corpus_out,
    macro,
    normalise,
    score,
)


def answerable(rank, until=ALWAYS, contains=None, q="a"):
    return Outcome(q, True, rank, until, contains)


def unanswerable(until=ALWAYS, q="u"):
    return Outcome(q, False, None, until)


def test_hit_at_k_and_mrr():
    outcomes = [answerable(1), answerable(2), answerable(3), answerable(4), answerable(None)]
    m = score(outcomes, 0.5)
    assert m.answerable == 5 and m.unanswerable == 0
    assert m.hit1 == pytest.approx(1 / 5)
    assert m.hit3 == pytest.approx(3 / 5)
    assert m.mrr == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 5)


def test_unanswerable_questions_do_not_count_in_retrieval_figures():
    m = score([answerable(1), unanswerable(), unanswerable()], 0.5)
    assert (m.hit1, m.hit3, m.mrr) == (1.0, 1.0, 1.0)
    assert (m.answerable, m.unanswerable) == (1, 2)


def test_abstention_counts_follow_the_threshold():
    outcomes = [
        answerable(1, until=0.7),  # answered up to 0.7
        answerable(1, until=NEVER),  # always abstains
        unanswerable(until=0.4),
        unanswerable(until=ALWAYS),  # never abstains
    ]
    low, high = score(outcomes, 0.4), score(outcomes, 0.71)
    assert (low.unanswerable_abstained, low.answerable_wrongly_abstained) == (0, 1)
    assert (high.unanswerable_abstained, high.answerable_wrongly_abstained) == (1, 2)
    assert high.abstained_rate == 0.5
    assert high.wrongly_abstained_rate == 1.0


def test_answered_exactly_at_its_own_threshold():
    """The bot answers when evidence >= threshold: equality is an answer."""
    assert not Outcome("q", True, 1, 0.54).abstained(0.54)
    assert Outcome("q", True, 1, 0.54).abstained(0.5401)


def test_contains_counts_only_answered_questions_with_the_phrase():
    outcomes = [
        answerable(1, contains=True),
        answerable(1, until=0.3, contains=True),  # abstained at 0.5: its phrase does not count
        answerable(2, contains=False),
        answerable(2, contains=True),
    ]
    assert score(outcomes, 0.5).contains == pytest.approx(2 / 4)
    assert score(outcomes, 0.2).contains == pytest.approx(3 / 4)


def test_contains_is_unmeasured_without_phrases():
    assert score([answerable(1), unanswerable()], 0.5).contains is None


def test_empty_sets_give_zero_and_none_not_errors():
    m = score([], 0.5)
    assert (m.hit1, m.hit3, m.mrr, m.contains) == (0.0, 0.0, 0.0, None)
    assert m.abstained_rate is None and m.wrongly_abstained_rate is None


@pytest.mark.parametrize(
    ("answer", "phrase", "expected"),
    [
        ("> Response is Within 1 hour during depot hours [1]", "within 1 hour", True),
        ("within\n  1   hour", "Within 1 hour", True),
        ("Severity 2 | **within 1 hour** |", "within 1 hour", True),
        ("Go-live is 9\u201312 March", "9-12 March", True),
        ("the team\u2019s lead", "team's lead", True),
        ("within 2 hours", "within 1 hour", False),
        ("anything", "  ", False),
        ("within 1 hou", "within 1 hour", False),
    ],
)
def test_contains_phrase(answer, phrase, expected):
    assert contains_phrase(answer, phrase) is expected


def test_normalise_keeps_words_apart():
    assert normalise("A  B\tC") == "a b c"


def test_first_hit_rank():
    assert first_hit_rank([False, False, True, True]) == 3
    assert first_hit_rank([False]) is None
    assert first_hit_rank([]) is None


def _metrics(**values) -> Metrics:
    base = dict(
        answerable=10,
        unanswerable=4,
        hit1=0.5,
        hit3=0.8,
        mrr=0.6,
        contains=0.5,
        unanswerable_abstained=2,
        answerable_wrongly_abstained=1,
    )
    return Metrics(**(base | values))


def test_macro_is_unweighted_over_corpora():
    big = _metrics(answerable=100, hit1=1.0, contains=None)
    small = _metrics(answerable=2, hit1=0.0, contains=0.4, unanswerable=0)
    m = macro([big, small])
    assert m.corpora == 2
    assert m.hit1 == 0.5  # each corpus counts once, whatever its size
    assert m.contains == 0.4  # only corpora that measure it
    assert m.abstained_rate == 0.5  # the corpus without unanswerable questions is left out
    assert m.wrongly_abstained_rate == pytest.approx((1 / 100 + 1 / 2) / 2)


def test_choose_threshold_abstains_most_within_the_wrong_abstention_bound():
    # ten answerable questions: one refused from 0.5 up, two more from 0.7 up
    corpus = (
        [answerable(1, until=0.45)]
        + [answerable(1, until=0.65)] * 2
        + [answerable(1)] * 7
        + [unanswerable(until=0.35), unanswerable(until=0.55), unanswerable(until=0.75)]
    )
    grid = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    # 0.6 abstains on 2 of 3 with 1 of 10 wrong (10 %, within the bound); 0.8 would abstain
    # on all 3 but refuses 3 of 10
    assert choose_threshold({"c": corpus}, grid) == 0.6
    assert choose_threshold({"c": corpus}, grid, max_wrong=0.3) == 0.8
    assert choose_threshold({"c": corpus}, grid, max_wrong=0.0) == 0.4


def test_choose_threshold_ties_go_to_the_middle():
    corpus = [answerable(1, until=0.8), answerable(1, until=0.7), unanswerable(until=0.45)]
    grid = [0.4, 0.5, 0.6, 0.7, 0.9]
    # 0.5, 0.6 and 0.7 are all perfect: the middle one is chosen
    assert choose_threshold({"c": corpus}, grid) == 0.6


def test_choose_threshold_when_nothing_keeps_within_the_bound():
    corpus = [answerable(1, until=NEVER), answerable(1, until=0.35), unanswerable(until=0.2)]
    assert choose_threshold({"c": corpus}, [0.3, 0.4, 0.9]) == 0.3  # the fewest refusals


def test_choose_threshold_macro_averages_the_corpora():
    strict = [answerable(1, until=0.55)] * 10 + [unanswerable(until=0.45)]
    lenient = [answerable(1)] * 10 + [unanswerable(until=0.65)]
    # 0.6: strict refuses all 10 (100 %), lenient none: macro 50 % wrong, over the bound
    assert choose_threshold({"s": strict, "l": lenient}, [0.4, 0.5, 0.6, 0.7]) == 0.5


def test_leave_one_corpus_out_never_sees_the_held_out_corpus():
    """The held-out corpus would prefer 0.9; the fold must use what the others chose."""
    typical = [answerable(1, until=0.55), unanswerable(until=0.35)]
    odd = [answerable(1, until=0.95), unanswerable(until=0.85)]
    corpora = {"a": typical, "b": list(typical), "odd": odd}
    grid = [0.3, 0.5, 0.9]
    folds = {fold.held_out: fold for fold in leave_one_corpus_out(corpora, grid)}
    assert set(folds) == {"a", "b", "odd"}
    assert folds["odd"].threshold == 0.5
    assert folds["odd"].metrics.unanswerable_abstained == 0  # held-out figures are honest
    assert choose_threshold({"odd": odd}, grid) == 0.9


def test_leave_one_corpus_out_needs_two_corpora():
    with pytest.raises(ValueError, match="at least two"):
        leave_one_corpus_out({"only": [answerable(1)]}, [0.5])
    with pytest.raises(ValueError):
        choose_threshold({}, [0.5])
