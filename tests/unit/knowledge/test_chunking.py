"""Structure-aware chunking: FAQ entries, heading trails, whole tables/lists, size limits."""

from __future__ import annotations

import re

import pytest
from conftest import write

from bot.knowledge.chunking import chunk_document, passage_text
from bot.knowledge.loaders import LoadedDocument, load_file

SIZE = 400
OVERLAP = 40


def doc(text: str, *, markup: bool = True, title: str = "Guide", **meta) -> LoadedDocument:
    values = {"path": "guide.md", "doc_type": "other"} | meta
    return LoadedDocument(text=text, title=title, markup=markup, **values)


def chunks_of(document: LoadedDocument, size: int = SIZE, overlap: int = OVERLAP):
    return chunk_document(document, chunk_size=size, chunk_overlap=overlap)


def passages(chunks) -> list[str]:
    return [passage_text(chunk.page_content) for chunk in chunks]


FAQ = """# Team FAQ

Short intro for the FAQ.

### How do I book a training seat?

Use the learning portal. Seats are confirmed within two days.

### Who approves my training budget?

Your line manager approves it.

- Up to 500 euros: line manager.
- Above that: head of department.

### Is the training mandatory?

Yes, for everyone who builds models.
"""


def test_each_faq_question_is_exactly_one_chunk_with_its_answer():
    chunks = chunks_of(doc(FAQ, title="Team FAQ", doc_type="faq"))
    by_question: dict[str, list] = {}
    for chunk in chunks:
        if "faq_question" in chunk.metadata:
            by_question.setdefault(chunk.metadata["faq_question"], []).append(chunk)
    assert sorted(by_question) == [
        "How do I book a training seat?",
        "Is the training mandatory?",
        "Who approves my training budget?",
    ]
    assert all(len(found) == 1 for found in by_question.values())
    budget = passage_text(by_question["Who approves my training budget?"][0].page_content)
    assert budget.startswith("Who approves my training budget?\n")
    assert "Your line manager approves it." in budget
    assert "- Above that: head of department." in budget  # the whole answer, list included
    assert "learning portal" not in budget  # and nothing from the neighbouring entries
    seat = by_question["How do I book a training seat?"][0]
    assert seat.metadata["section"] == "How do I book a training seat?"
    assert seat.metadata["type"] == "faq"


def test_heading_trail_is_the_section_and_the_context_line():
    text = (
        "# Roadmap\n\n## Phase 1\n\nBuild.\n\n### Dates\n\nMarch to June.\n\n## Phase 2\n\nPilot.\n"
    )
    chunks = chunks_of(doc(text, title="Roadmap"))
    dates = next(chunk for chunk in chunks if "March to June." in chunk.page_content)
    assert dates.metadata["section"] == "Phase 1 > Dates"
    # The first line gives retrieval the context; passage_text drops it again.
    assert dates.page_content.splitlines()[0] == "Roadmap › Phase 1 › Dates"
    assert passage_text(dates.page_content) == "March to June."
    phase2 = next(chunk for chunk in chunks if "Pilot." in chunk.page_content)
    assert phase2.metadata["section"] == "Phase 2"
    assert "March" not in phase2.page_content


def test_title_heading_that_differs_from_the_title_stays_in_the_trail():
    chunks = chunks_of(doc("# Big Plan\n\n## Dates\n\nMay.\n", title="Plan 2026"))
    assert chunks[0].metadata["section"] == "Big Plan > Dates"


def test_metadata_is_complete_and_audiences_become_flags():
    document = doc(
        "# Guide\n\n## Access\n\nAsk the data owner.\n",
        path="policies/access.md",
        doc_type="policy",
        audience=["data scientists", "hr"],
        owner="Security",
        updated="2026-01-02",
        url="https://intranet.example/access",
    )
    (chunk,) = chunks_of(document)
    meta = chunk.metadata
    assert meta["source"] == "policies/access.md"
    assert meta["title"] == "Guide"
    assert meta["type"] == "policy"
    assert meta["audience"] == "data scientists, hr"
    assert meta["aud_data_scientists"] is True
    assert meta["aud_hr"] is True
    assert "aud_everyone" not in meta
    assert (meta["owner"], meta["updated"], meta["url"]) == (
        "Security",
        "2026-01-02",
        "https://intranet.example/access",
    )
    assert "faq_question" not in meta


def test_document_without_audience_is_for_everyone():
    (chunk,) = chunks_of(doc("# Guide\n\nText for all.\n"))
    assert chunk.metadata["audience"] == "everyone"
    assert chunk.metadata["aud_everyone"] is True


def test_table_and_list_that_fit_stay_whole():
    rows = "\n".join(f"| Wave {n} | 2026-0{n}-01 | Team {n} |" for n in range(1, 8))
    table = f"| Wave | Start | Team |\n|---|---|---|\n{rows}"
    items = "\n".join(f"- Step {n}: do the thing number {n}." for n in range(1, 9))
    filler = " ".join(["Context sentence about the waves."] * 6)
    text = f"# Guide\n\n## Waves\n\n{filler}\n\n{table}\n\n{filler}\n\n{items}\n\n{filler}\n"
    assert len(table) < SIZE
    assert len(items) < SIZE
    found = passages(chunks_of(doc(text)))
    assert sum(table in passage for passage in found) == 1
    assert sum(items in passage for passage in found) == 1


def test_long_section_is_split_below_the_size_limit_without_losing_text():
    sentences = [f"Sentence number {n} explains one more detail of the plan." for n in range(60)]
    paragraphs = ["\n".join(sentences[i : i + 5]) for i in range(0, 60, 5)]
    text = "# Guide\n\n## Details\n\n" + "\n\n".join(paragraphs) + "\n"
    chunks = chunks_of(doc(text))
    assert len(chunks) > 3
    for passage in passages(chunks):
        assert len(passage) <= SIZE + 10
    joined = "\n".join(passages(chunks))
    for sentence in sentences:
        assert sentence in joined
    assert all(chunk.metadata["section"] == "Details" for chunk in chunks)
    assert [chunk.metadata["chunk"] for chunk in chunks] == list(range(len(chunks)))


def test_single_huge_paragraph_is_cut_by_the_size_limit():
    words = " ".join(f"word{n}" for n in range(600))
    chunks = chunks_of(doc(f"# Guide\n\n{words}\n"))
    assert len(chunks) > 1
    assert all(len(passage) <= SIZE for passage in passages(chunks))


def test_long_table_is_split_with_its_header_on_every_part():
    header = "| Model | Owner | Tier |\n|---|---|---|"
    rows = "\n".join(f"| model-{n:03d} | owner number {n} | tier {n % 3} |" for n in range(40))
    chunks = chunks_of(doc(f"# Guide\n\n## Inventory\n\n{header}\n{rows}\n"))
    chunks = [c for c in chunks if c.metadata.get("unit") != "row"]  # the table's own parts
    assert len(chunks) > 1
    for passage in passages(chunks):
        assert passage.startswith(header)
        assert len(passage) <= SIZE + 10
    joined = "\n".join(passages(chunks))
    assert all(f"| model-{n:03d} |" in joined for n in range(40))


def test_long_faq_answer_is_split_but_every_part_keeps_the_question():
    answer = "\n\n".join(
        f"Paragraph {n} of a very long answer about expenses and approvals." for n in range(30)
    )
    text = f"# FAQ\n\n### How are expenses approved?\n\n{answer}\n"
    chunks = chunks_of(doc(text, title="FAQ"))
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.metadata["faq_question"] == "How are expenses approved?"
        assert passage_text(chunk.page_content).startswith("How are expenses approved?\n")


def test_code_fence_lines_starting_with_hash_are_not_headings():
    text = (
        "# Setup\n\n## Install\n\nRun this:\n\n```bash\n# install the client\n"
        "pip install client\n## not a heading either\n```\n\nThen log in.\n"
    )
    chunks = chunks_of(doc(text, title="Setup"))
    sections = {chunk.metadata["section"] for chunk in chunks}
    assert sections == {"Install"}
    joined = "\n".join(passages(chunks))
    assert "```bash\n# install the client\npip install client\n## not a heading either\n```" in (
        joined
    )


def test_plain_text_is_split_on_paragraphs():
    paragraphs = [
        "Office hours run every Thursday from two to four in the afternoon, in room 4.12 "
        "on the fourth floor.",
        "The help desk answers tickets within one working day, including the days around "
        "public holidays.",
        "Escalations go to the programme lead when a ticket has waited for three working "
        "days without a reply.",
    ]
    chunks = chunks_of(doc("\n\n".join(paragraphs) + "\n", markup=False, title="Help"))
    assert passages(chunks) == paragraphs


def test_plain_text_heading_lines_head_what_follows():
    text = (
        "GETTING HELP\n\nOffice hours:\n\n"
        "Office hours run every Thursday from two to four in the afternoon, in room 4.12.\n\n"
        "Escalation\n\n"
        "Escalations go to the programme lead when a ticket has waited for three days or more.\n"
    )
    chunks = chunks_of(doc(text, markup=False, title="Getting help"))
    sections = [chunk.metadata["section"] for chunk in chunks]
    assert sections == ["Office hours", "Escalation"]


def test_glossary_terms_become_sections():
    text = (
        "Canary release: Sending a small share of live traffic to a new model version.\n\n"
        "Concept drift: A change in the relationship between inputs and the target.\n"
    )
    chunks = chunks_of(doc(text, markup=False, title="Glossary"))
    assert [chunk.metadata["section"] for chunk in chunks] == ["Canary release", "Concept drift"]


def test_plain_text_q_and_a_pairs_become_entries(tmp_path):
    path = write(
        tmp_path / "helpdesk.txt",
        """
        Q: How do I reset my password?
        A: Use the self-service portal.

        Q: Who approves annual leave?
        A: Your line manager approves it
        in the HR system.
        """,
    )
    chunks = chunks_of(load_file(path, tmp_path))
    entries = {chunk.metadata["faq_question"]: passage_text(chunk.page_content) for chunk in chunks}
    assert entries == {
        "How do I reset my password?": "How do I reset my password?\nUse the self-service portal.",
        "Who approves annual leave?": (
            "Who approves annual leave?\nYour line manager approves it\nin the HR system."
        ),
    }


def test_q_and_a_pairs_inside_markdown_become_entries():
    text = "# Help\n\n## Access\n\nQ: Who grants access?\nA: The data owner.\n"
    (chunk,) = chunks_of(doc(text, title="Help"))
    assert chunk.metadata["faq_question"] == "Who grants access?"
    assert chunk.metadata["section"] == "Access > Who grants access?"
    assert passage_text(chunk.page_content) == "Who grants access?\nThe data owner."


@pytest.mark.parametrize("size", [200, 1200])
def test_chunk_ids_are_stable_for_the_same_input(size):
    first = chunks_of(doc(FAQ, title="Team FAQ"), size=size)
    second = chunks_of(doc(FAQ, title="Team FAQ"), size=size)
    assert [c.page_content for c in first] == [c.page_content for c in second]
    assert [c.metadata for c in first] == [c.metadata for c in second]


def test_no_chunk_is_only_a_context_line():
    chunks = chunks_of(doc("# Guide\n\n## Empty section\n\n## Full section\n\nText.\n"))
    for chunk in chunks:
        assert re.sub(r"\s", "", passage_text(chunk.page_content))
    assert [chunk.metadata["section"] for chunk in chunks] == ["Full section"]
