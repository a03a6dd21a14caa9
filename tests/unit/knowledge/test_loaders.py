"""Loading playbook files into light Markdown plus metadata, and refusing bad ones."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from conftest import write

from bot.knowledge.loaders import LoadError, is_skipped, load_file


def load(root: Path, relative: str, text: str | None = None, *, raw: bytes | None = None):
    path = root / relative
    if raw is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
    else:
        write(path, text or "")
    return load_file(path, root)


def load_error(root: Path, relative: str, text: str | None = None, *, raw=None) -> str:
    with pytest.raises(LoadError) as caught:
        load(root, relative, text, raw=raw)
    return str(caught.value)


# -- Markdown -------------------------------------------------------------------------------
def test_markdown_front_matter_supplies_every_field(tmp_path):
    doc = load(
        tmp_path,
        "misc/plan.md",
        """
        ---
        title: Rollout plan
        type: roadmap
        audience: Managers, Data Scientists
        owner: Mina Park
        updated: 2026-02-01
        url: https://intranet.example/plan
        ---

        # Something else

        The plan.
        """,
    )
    assert doc.path == "misc/plan.md"
    assert doc.title == "Rollout plan"
    assert doc.doc_type == "roadmap"
    assert doc.audience == ["managers", "data scientists"]
    assert doc.owner == "Mina Park"
    assert doc.updated == "2026-02-01"
    assert doc.url == "https://intranet.example/plan"
    assert doc.markup is True
    assert "title:" not in doc.text  # the front matter is not part of the indexed text
    assert doc.text.startswith("# Something else")
    assert doc.warnings == []


def test_markdown_without_front_matter_takes_title_from_first_heading(tmp_path):
    doc = load(tmp_path, "guide.md", "Intro line.\n\n## Getting started\n\nText.\n")
    assert doc.title == "Getting started"
    assert doc.doc_type == "other"
    assert (doc.audience, doc.owner, doc.updated, doc.url) == ([], "", "", "")


def test_markdown_without_heading_takes_title_from_file_name(tmp_path):
    doc = load(tmp_path, "office-hours_guide.md", "just some lowercase text without a heading.\n")
    assert doc.title == "Office hours guide"


def test_audience_list_and_date_keyword(tmp_path):
    doc = load(
        tmp_path,
        "a.md",
        "---\naudience: [HR, Finance]\ndate: 2025-12-24\n---\n# A\n\ntext\n",
    )
    assert doc.audience == ["hr", "finance"]
    assert doc.updated == "2025-12-24"


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("faq", "faq"),
        ("roadmap", "roadmap"),
        ("training", "training"),
        ("policies", "policy"),
        ("announcements", "announcement"),
        ("misc", "other"),
    ],
)
def test_type_comes_from_sub_folder(tmp_path, folder, expected):
    doc = load(tmp_path, f"{folder}/doc.md", "# Doc\n\ntext\n")
    assert doc.doc_type == expected


def test_top_level_file_without_type_is_other(tmp_path):
    assert load(tmp_path, "doc.md", "# Doc\n\ntext\n").doc_type == "other"


def test_front_matter_type_beats_folder(tmp_path):
    doc = load(tmp_path, "faq/doc.md", "---\ntype: policies\n---\n# Doc\n\ntext\n")
    assert doc.doc_type == "policy"


def test_unknown_type_and_bad_date_are_warnings_not_errors(tmp_path):
    doc = load(
        tmp_path,
        "announcements/doc.md",
        "---\ntype: gossip\nupdated: next week\n---\n# Doc\n\ntext\n",
    )
    assert doc.doc_type == "announcement"
    assert doc.updated == ""
    assert any("gossip" in warning for warning in doc.warnings)
    assert any("next week" in warning for warning in doc.warnings)


def test_windows_line_endings_and_cp1252_are_read(tmp_path):
    doc = load(tmp_path, "win.md", raw="---\r\ntitle: Café\r\n---\r\n# H\r\nnaïve\r\n".encode())
    assert doc.title == "Café"
    assert "\r" not in doc.text
    legacy = load(tmp_path, "legacy.md", raw="# Caf\xe9\n\nna\xefve text\n".encode("cp1252"))
    assert legacy.title == "Café"
    assert "naïve" in legacy.text


# -- plain text -----------------------------------------------------------------------------
def test_plain_text_is_not_markup(tmp_path):
    doc = load(tmp_path, "help.txt", "Office hours are on Thursday.\n\nAsk in the channel.\n")
    assert doc.markup is False
    assert doc.title == "Help"
    assert "Office hours are on Thursday." in doc.text


def test_plain_text_with_heading_lines_is_markup(tmp_path):
    doc = load(tmp_path, "help.txt", "# Getting help\n\nAsk in the channel.\n")
    assert doc.markup is True
    assert doc.title == "Getting help"


def test_plain_text_upper_case_first_line_is_the_title(tmp_path):
    doc = load(tmp_path, "help.txt", "GETTING HELP\n\nAsk in the channel.\n")
    assert doc.title == "Getting help"


# -- HTML -----------------------------------------------------------------------------------
def test_html_becomes_markdown_with_headings_lists_and_tables(tmp_path):
    doc = load(
        tmp_path,
        "policies/access.html",
        """
        <html><head><title>Data access policy</title><style>p {color: red}</style></head>
        <body>
          <nav>Home | Menu</nav>
          <h1>Data access</h1>
          <h2>How to request access</h2>
          <p>Open a ticket   in the
             service portal.</p>
          <ul><li>Restricted data</li><li>Confidential data</li></ul>
          <table>
            <tr><th>Class</th><th>Retention</th></tr>
            <tr><td>Logs</td><td>400 days</td></tr>
          </table>
          <script>alert("x")</script>
        </body></html>
        """,
    )
    assert doc.title == "Data access policy"
    assert doc.doc_type == "policy"
    assert doc.markup is True
    lines = doc.text.splitlines()
    assert "# Data access" in lines
    assert "## How to request access" in lines
    assert "Open a ticket in the service portal." in lines
    assert "- Restricted data" in lines
    assert "| Class | Retention |" in lines
    assert "| Logs | 400 days |" in lines
    assert "alert" not in doc.text
    assert "Menu" not in doc.text


def test_html_without_tags_is_refused(tmp_path):
    assert "HTML" in load_error(tmp_path, "page.html", "just words, no markup at all\n")


# -- DOCX -----------------------------------------------------------------------------------
def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Wave guide"
    document.add_heading("Migration waves", level=1)
    document.add_paragraph("Every team moves in one wave.")
    document.add_heading("Wave dates", level=2)
    document.add_paragraph("Bring your model card.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Wave"
    table.cell(0, 1).text = "Start"
    table.cell(1, 0).text = "1"
    table.cell(1, 1).text = "2026-05-04"
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def test_docx_headings_lists_and_tables(tmp_path):
    path = make_docx(tmp_path / "training" / "waves.docx")
    doc = load_file(path, tmp_path)
    assert doc.title == "Wave guide"
    assert doc.doc_type == "training"
    lines = doc.text.splitlines()
    assert "# Migration waves" in lines
    assert "## Wave dates" in lines
    assert "Every team moves in one wave." in lines
    assert "- Bring your model card." in lines
    assert "| Wave | Start |" in lines
    assert "| 1 | 2026-05-04 |" in lines


def test_corrupt_docx_is_refused(tmp_path):
    reason = load_error(tmp_path, "bad.docx", raw=os.urandom(3000) + b"\x00")
    assert "Word" in reason


def test_zip_that_is_not_a_docx_is_refused(tmp_path):
    path = tmp_path / "fake.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    with pytest.raises(LoadError, match="Word"):
        load_file(path, tmp_path)


# -- PDF ------------------------------------------------------------------------------------
def make_pdf(path: Path, pages: list[str], title: str = "") -> Path:
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = canvas.Canvas(str(path))
    pdf.setTitle(title)  # reportlab's default title is "untitled"
    for text in pages:
        if text:
            pdf.drawString(72, 720, text)
        pdf.showPage()
    pdf.save()
    return path


def test_pdf_text_is_extracted_from_every_page(tmp_path):
    path = make_pdf(
        tmp_path / "policies" / "logs.pdf",
        ["Prediction logs are kept for 400 days.", "Training data is kept for 3 years."],
        title="Retention policy",
    )
    doc = load_file(path, tmp_path)
    assert doc.title == "Retention policy"
    assert doc.doc_type == "policy"
    assert "Prediction logs are kept for 400 days." in doc.text
    assert "Training data is kept for 3 years." in doc.text


def test_pdf_without_title_is_named_after_the_file(tmp_path):
    path = make_pdf(tmp_path / "logs-policy.pdf", ["prediction logs are kept for 400 days."])
    assert load_file(path, tmp_path).title == "Logs policy"


def test_encrypted_pdf_is_refused(tmp_path):
    from pypdf import PdfWriter

    plain = make_pdf(tmp_path / "src" / "plain.pdf", ["Secret roadmap dates."])
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt(user_password="hunter2", owner_password="owner")
    with (tmp_path / "locked.pdf").open("wb") as handle:
        writer.write(handle)
    with pytest.raises(LoadError, match="encrypted"):
        load_file(tmp_path / "locked.pdf", tmp_path)


def test_corrupt_pdf_is_refused(tmp_path):
    reason = load_error(tmp_path, "broken.pdf", raw=os.urandom(4000))
    assert "PDF" in reason


def test_pdf_without_text_is_refused(tmp_path):
    path = make_pdf(tmp_path / "scan.pdf", [""])
    with pytest.raises(LoadError, match="no extractable text"):
        load_file(path, tmp_path)


# -- bad files ------------------------------------------------------------------------------
def test_empty_file(tmp_path):
    assert "empty" in load_error(tmp_path, "empty.md", raw=b"")


def test_whitespace_only_file(tmp_path):
    assert "empty" in load_error(tmp_path, "blank.md", raw=b"  \n\n\t \r\n")


def test_binary_junk_named_md(tmp_path):
    reason = load_error(tmp_path, "image.md", raw=b"\x89PNG\r\n\x1a\n\x00\x00" + os.urandom(500))
    assert "binary" in reason


def test_bad_yaml_front_matter_names_the_line(tmp_path):
    reason = load_error(
        tmp_path, "bad.md", "---\ntitle: Plan\nowner: Mina: Park\n---\n# Plan\n\ntext\n"
    )
    assert "YAML" in reason
    assert "line 3" in reason  # the file's line 3 holds the broken value


def test_front_matter_that_is_a_list(tmp_path):
    reason = load_error(tmp_path, "list.md", "---\n- one\n- two\n---\n# Plan\n\ntext\n")
    assert "key: value" in reason


def test_unclosed_front_matter(tmp_path):
    reason = load_error(tmp_path, "open.md", "---\ntitle: Plan\n\n# Plan\n\ntext\n")
    assert "closing" in reason


def test_front_matter_without_body(tmp_path):
    reason = load_error(tmp_path, "only-meta.md", "---\ntitle: Plan\n---\n")
    assert "no text" in reason


def test_impossible_date_in_front_matter_is_a_load_error_or_warning(tmp_path):
    try:
        doc = load(tmp_path, "plan.md", "---\nupdated: 2026-02-30\n---\n# Plan\n\ntext\n")
    except LoadError:
        return
    assert doc.updated == ""


def test_empty_front_matter_block_is_accepted(tmp_path):
    doc = load(tmp_path, "plan.md", "---\n---\n# Plan\n\ntext\n")
    assert doc.title == "Plan"


def test_comment_in_code_fence_is_not_the_title(tmp_path):
    doc = load(tmp_path, "setup-notes.md", "```bash\n# install deps\npip install x\n```\n")
    assert doc.title == "Setup notes"


def test_unreadable_file(tmp_path):
    path = write(tmp_path / "secret.md", "# Secret\n\ntext\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root (or similar): a chmod 000 file is still readable")
        with pytest.raises(LoadError, match="cannot read"):
            load_file(path, tmp_path)
    finally:
        path.chmod(0o644)


# -- which files are looked at ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("relative", "reason_part"),
    [
        ("surveys/pulse.md", "survey"),
        ("notes.xlsx", "unsupported"),
        ("faq/image.png", "unsupported"),
        ("Makefile", "unsupported"),
        (".hidden.md", "hidden"),
    ],
)
def test_skipped_paths(relative, reason_part):
    reason = is_skipped(Path(relative))
    assert reason is not None
    assert reason_part in reason


@pytest.mark.parametrize(
    "relative",
    ["faq/a.md", "a.markdown", "b.txt", "c.pdf", "d.docx", "e.html", "f.HTM"],
)
def test_supported_paths_are_not_skipped(relative):
    assert is_skipped(Path(relative)) is None
