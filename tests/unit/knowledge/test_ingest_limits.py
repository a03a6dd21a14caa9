"""What a playbook folder can do to ingest: a .docx that makes style look-ups quadratic,
a file too large to read, links that lead out of the folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write

from bot.knowledge.loaders import load_file


def styled_docx(path: Path, *, paragraphs: int, extra_styles: int = 300) -> Path:
    """A .docx with many paragraphs (half without a style of their own) and many styles.

    Two model paragraphs are written with python-docx and copied as XML (writing each one
    through python-docx would itself look the style up every time)."""
    import copy

    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    for n in range(extra_styles):
        document.styles.add_style(f"Custom {n}", WD_STYLE_TYPE.PARAGRAPH)
    document.add_heading("Migration waves", level=1)
    plain = document.add_paragraph("Paragraph of the plan.")._p
    bullet = document.add_paragraph("Step of the wave.", style="List Bullet")._p
    body = plain.getparent()
    for n in range(paragraphs):
        model, text = (
            (bullet, f"Step {n} of the wave.") if n % 2 else (plain, f"Paragraph {n} of the plan.")
        )
        clone = copy.deepcopy(model)
        clone.xpath(".//w:t")[0].text = text
        body.insert(body.index(model), clone)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


@pytest.fixture
def style_lookups(monkeypatch):
    """Counts python-docx's per-call searches of the styles part."""
    from docx.oxml.styles import CT_Styles

    counted = {"n": 0}
    for name in ("get_by_id", "default_for"):
        original = getattr(CT_Styles, name)

        def counting(self, *args, _original=original, **kwargs):
            counted["n"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(CT_Styles, name, counting)
    return counted


def test_docx_style_lookups_do_not_grow_with_the_paragraphs(tmp_path, style_lookups):
    small = styled_docx(tmp_path / "small.docx", paragraphs=200)
    large = styled_docx(tmp_path / "large.docx", paragraphs=3000)
    style_lookups["n"] = 0  # writing them looked styles up too
    load_file(small, tmp_path)
    for_small = style_lookups["n"]
    doc = load_file(large, tmp_path)
    for_large = style_lookups["n"] - for_small
    assert for_large == for_small <= 2  # a fixed number per file, not one per paragraph
    lines = doc.text.splitlines()
    assert "# Migration waves" in lines
    assert "- Step 2999 of the wave." in lines
    assert "Paragraph 2998 of the plan." in lines


# -- size cap -------------------------------------------------------------------------------
def test_a_file_over_the_size_cap_is_skipped_with_the_sizes(make_container, kb):
    big = kb / "faq" / "huge.md"
    write(big, "# Huge\n\n" + "All about the rollout. " * 150_000)  # 3.45 MB
    container = make_container(max_file_mb=2)
    report = container.indexer.ingest(kb)
    reasons = dict(report.skipped)
    assert reasons["faq/huge.md"] == "too large (3.5 MB > 2 MB)"  # printed after "skipped"
    assert "faq/huge.md" not in report.added
    assert report.added  # the rest is indexed


# -- symlinks -------------------------------------------------------------------------------
def test_symlinks_out_of_the_folder_are_not_followed(make_container, kb, tmp_path):
    outside = tmp_path / "outside"
    write(outside / "secret.md", "# Salaries\n\nThe CEO earns a lot of crowns.\n")
    write(outside / "hr" / "notes.md", "# Notes\n\nPerformance notes about crowns.\n")
    (kb / "linked-secret.md").symlink_to(outside / "secret.md")
    (kb / "linked-folder").symlink_to(outside / "hr", target_is_directory=True)
    write(kb / "inside" / "real.md", "# Inside\n\nA real page about crowns and waves.\n")
    (kb / "alias.md").symlink_to(kb / "inside" / "real.md")  # inside: fine

    container = make_container()
    report = container.indexer.ingest(kb)
    reasons = dict(report.skipped)
    assert (
        reasons["linked-secret.md"] == "link to a file outside the knowledge folder (not followed)"
    )
    assert reasons["linked-folder"] == "link to a folder (not followed)"
    indexed = [*report.added, *report.updated, *report.unchanged]
    assert not [path for path in indexed if path.startswith("linked")]
    assert "alias.md" in indexed
    texts = " ".join(chunk.text for chunk in container.playbook_store.all_chunks())
    assert "CEO" not in texts and "Performance notes" not in texts
