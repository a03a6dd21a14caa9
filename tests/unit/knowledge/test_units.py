"""Structure units: Q/A in any shape, table rows, list items; HTML tables and inline text."""

from __future__ import annotations

import pytest
from conftest import write

from bot.knowledge.chunking import chunk_document, passage_text
from bot.knowledge.loaders import LoadedDocument, load_file
from bot.knowledge.units import list_items, qa_segments, question_of, table_rows


def chunks_of(text: str, *, markup: bool = True, size: int = 800):
    doc = LoadedDocument(path="doc.md", text=text, title="Doc", doc_type="other", markup=markup)
    return chunk_document(doc, chunk_size=size, chunk_overlap=40)


@pytest.mark.parametrize(
    ("line", "question"),
    [
        ("1. Why do teams struggle with MLOps?", "Why do teams struggle with MLOps?"),
        ("Q: How do I reset my password?", "How do I reset my password?"),
        ("Q3) Who signs off a release?", "Who signs off a release?"),
        ("Q (chat, Coastal): Why are we so late?", "Why are we so late?"),
        ("PRIYA (Depot manager, Coastal): When do the vans arrive?", "When do the vans arrive?"),
        ("MARK: Is the canteen staying open?", "Is the canteen staying open?"),
        ("Why do organisations adopt MLOps at all?", "Why do organisations adopt MLOps at all?"),
    ],
)
def test_question_lines_in_any_shape_are_recognised(line, question):
    assert question_of(line) == question


@pytest.mark.parametrize(
    "line",
    [
        "DANA (COO): Because the vans arrived six weeks late.",
        "- Does this bullet count?",
        "| Is this a table cell? |",
        "The team asked: what now? Then it moved on.",
        "Note: read this first.",
    ],
)
def test_statements_bullets_and_cells_are_not_questions(line):
    assert question_of(line) is None


def test_numbered_faq_in_plain_text_becomes_question_and_answer_units():
    text = (
        "MLOps adoption\n\n"
        "Some intro about the article that runs for a while and says little at all.\n\n"
        "1. Why do organizations struggle when adopting machine learning operations?\n"
        "They underestimate the cultural change and treat it as a tooling project.\n\n"
        "2. How long does an adoption take?\n\n"
        "Most teams need twelve to eighteen months.\n"
    )
    chunks = [c for c in chunks_of(text, markup=False) if c.metadata.get("faq_question")]
    by_question = {c.metadata["faq_question"]: passage_text(c.page_content) for c in chunks}
    question = "Why do organizations struggle when adopting machine learning operations?"
    assert by_question[question].split("\n", 1)[1].startswith("They underestimate")
    assert "twelve to eighteen months" in by_question["How long does an adoption take?"]
    assert all(c.metadata["unit"] == "qa" for c in chunks)


def test_transcript_question_turn_and_replies_are_one_unit():
    body = (
        "Opening remarks by the COO about the quarter.\n"
        "Q (chat, Coastal): Why are we so late?\n"
        "DANA (COO): Because the vans arrived six weeks late.\n"
        "MARK (Fleet lead): The last ten arrive on Friday.\n"
        "Q (room): Will training be paid?\n"
        "DANA (COO): Yes, all training is paid time.\n"
    )
    preamble, units = qa_segments(body)
    assert preamble == "Opening remarks by the COO about the quarter."
    assert [u.question for u in units] == ["Why are we so late?", "Will training be paid?"]
    assert units[0].question_line == "Q (chat, Coastal): Why are we so late?"
    assert "vans arrived six weeks late" in units[0].answer
    assert "last ten arrive on Friday" in units[0].answer


def test_a_question_without_an_answer_makes_no_unit():
    assert qa_segments("What is changing?\n") == ("", [])


def test_table_rows_read_with_their_headers():
    table = (
        "| Severity | Meaning | Response time |\n"
        "|---|---|---|\n"
        "| 1 | Service down | Within 15 minutes |\n"
        "| 2 | Degraded | Within 1 hour during depot operating hours |\n"
    )
    assert table_rows(table) == [
        "Severity 1 — meaning: Service down; response time: Within 15 minutes.",
        "Severity 2 — meaning: Degraded; response time: Within 1 hour during depot "
        "operating hours.",
    ]


def test_table_rows_are_chunks_of_their_own_and_the_whole_table_stays():
    text = (
        "# Support policy\n\n## Response times\n\n"
        "| Severity | Response time |\n|---|---|\n| 1 | Within 15 minutes |\n"
        "| 2 | Within 1 hour |\n"
    )
    chunks = chunks_of(text)
    rows = [c for c in chunks if c.metadata.get("unit") == "row"]
    assert [passage_text(c.page_content) for c in rows] == [
        "Severity 1 — response time: Within 15 minutes.",
        "Severity 2 — response time: Within 1 hour.",
    ]
    assert all(c.metadata["section"] == "Support policy > Response times" for c in rows)
    assert all(c.page_content.startswith("Doc › Support policy › Response times") for c in rows)
    assert any("| 2 | Within 1 hour |" in c.page_content for c in chunks if c not in rows)


def test_list_items_are_addressable_with_their_section_trail():
    text = (
        "# Portal\n\n## What you can look up\n\nThe portal shows:\n\n"
        "- Job history: the last 24 months of every job you ran.\n"
        "- Invoices: the current and previous tax year.\n"
        "- Vans\n"
    )
    chunks = chunks_of(text)
    items = [c for c in chunks if c.metadata.get("unit") == "item"]
    assert [passage_text(c.page_content) for c in items] == [
        "Job history: the last 24 months of every job you ran.",
        "Invoices: the current and previous tax year.",
    ]
    assert items[0].metadata["section"] == "Portal > What you can look up"


def test_one_item_lists_and_short_items_make_no_units():
    assert list_items("- only one item that is long enough to count\n") == []
    assert list_items("- a\n- b\n") == []


# -- HTML -------------------------------------------------------------------------------
def test_html_inline_tags_do_not_put_a_space_before_punctuation(tmp_path):
    path = write(
        tmp_path / "p.html",
        "<html><body><p>Call <b>the desk</b>. Use <a href='x'>the form</a>, then "
        "<em>wait</em>!</p></body></html>",
    )
    text = load_file(path, tmp_path).text
    assert "Call the desk. Use the form, then wait!" in text


def test_html_rowspan_and_colspan_fill_every_row(tmp_path):
    path = write(
        tmp_path / "t.html",
        """
        <html><body><h2>Response times</h2><table>
        <tr><th>Severity</th><th>Hours</th><th>Response time</th></tr>
        <tr><td rowspan="2">2</td><td>Depot open</td><td>Within 1 hour</td></tr>
        <tr><td>Depot closed</td><td>Next morning</td></tr>
        <tr><td>3</td><td colspan="2">Next working day</td></tr>
        </table></body></html>
        """,
    )
    document = load_file(path, tmp_path)
    rows = [line for line in document.text.split("\n") if line.startswith("|")]
    assert rows == [
        "| Severity | Hours | Response time |",
        "|---|---|---|",
        "| 2 | Depot open | Within 1 hour |",
        "| 2 | Depot closed | Next morning |",
        "| 3 | Next working day | Next working day |",
    ]
    units = [
        passage_text(c.page_content)
        for c in chunk_document(document, chunk_size=800, chunk_overlap=40)
        if c.metadata.get("unit") == "row"
    ]
    assert "Severity 2 — hours: Depot closed; response time: Next morning." in units
