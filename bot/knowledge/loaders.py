"""Read playbook files (md / txt / pdf / docx / html) into text plus metadata.

Every format is turned into light Markdown (headings as `#` lines) so one
heading-aware chunker serves them all. A file that cannot be used raises
`LoadError` with a reason a person can act on; the caller reports it and goes on.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.yamlfiles import safe_load

DOC_TYPES = ("roadmap", "faq", "training", "policy", "announcement", "other")
SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm"}
SKIPPED_DIRS = {"surveys"}

_FOLDER_TYPES = {
    "roadmap": "roadmap",
    "roadmaps": "roadmap",
    "faq": "faq",
    "faqs": "faq",
    "training": "training",
    "trainings": "training",
    "guides": "training",
    "policy": "policy",
    "policies": "policy",
    "announcement": "announcement",
    "announcements": "announcement",
    "updates": "announcement",
}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?:(.*?)\r?\n)?(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_FENCE = re.compile(r"^\s*(```|~~~)")
_ATX_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


class LoadError(Exception):
    """A file could not be used; `str(error)` says why, in words for the file's owner."""


@dataclass
class LoadedDocument:
    path: str  # relative to the knowledge root, with forward slashes
    text: str  # light Markdown
    title: str
    doc_type: str
    markup: bool  # False for plain text without headings: split on paragraphs
    audience: list[str] = field(default_factory=list)
    owner: str = ""
    updated: str = ""  # ISO date or ""
    url: str = ""
    warnings: list[str] = field(default_factory=list)


def is_skipped(relative: Path) -> str | None:
    """Why a path below the knowledge root is not playbook text, or None."""
    parts = relative.parts
    if any(part.startswith(".") for part in parts):
        return "hidden file"
    if len(parts) > 1 and parts[0] in SKIPPED_DIRS:
        return "survey definitions are not playbook text"
    if relative.suffix.lower() not in SUPPORTED_SUFFIXES:
        return f"unsupported file type '{relative.suffix or relative.name}'"
    return None


def load_file(path: Path, root: Path) -> LoadedDocument:
    """Load one file; raise LoadError with the reason when it cannot be used."""
    relative = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read the file ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise LoadError("the file is empty")

    front: dict = {}
    warnings: list[str] = []
    if suffix in {".md", ".markdown", ".txt"}:
        text = _decode_text(raw)
        front, text = _split_front_matter(text)
        markup = suffix != ".txt" or first_heading(text) is not None
    elif suffix in {".html", ".htm"}:
        text, html_title = _html_to_markdown(_decode_text(raw))
        if html_title:
            front.setdefault("title", html_title)
        markup = True
    elif suffix == ".pdf":
        text, pdf_title = _pdf_to_text(raw)
        if pdf_title:
            front.setdefault("title", pdf_title)
        markup = first_heading(text) is not None
    elif suffix == ".docx":
        text, docx_title = _docx_to_markdown(raw)
        if docx_title:
            front.setdefault("title", docx_title)
        markup = True
    else:
        raise LoadError(f"unsupported file type '{suffix}'")

    if not text.strip():
        raise LoadError("the file has no text to index (empty, or only front matter/images)")

    return LoadedDocument(
        path=relative.as_posix(),
        text=text.strip() + "\n",
        title=_title(front, text, relative),
        doc_type=_doc_type(front, relative, warnings),
        markup=markup,
        audience=_audience(front.get("audience")),
        owner=str(front.get("owner") or "").strip(),
        updated=_date(front.get("updated") or front.get("date"), warnings),
        url=str(front.get("url") or "").strip(),
        warnings=warnings,
    )


# -- text formats ----------------------------------------------------------------------
def _decode_text(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise LoadError("this looks like a binary file, not text (rename it or convert it)")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\r\n\t\f")
        if control > 0.02 * min(len(text), 8192):
            raise LoadError("this looks like a binary file, not text (rename it or convert it)")
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise LoadError("the text encoding is not UTF-8; save the file as UTF-8")


def _split_front_matter(text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        if text.startswith("---\n") and "\n---" not in text[4:]:
            raise LoadError("front matter starts with '---' but has no closing '---' line")
        return {}, text
    try:
        data = safe_load(match.group(1) or "")
    except ValueError as exc:  # e.g. an impossible date such as 2026-02-30
        raise LoadError(f"front matter has an invalid value: {exc}") from exc
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 2}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise LoadError(f"front matter is not valid YAML{where}: {problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LoadError("front matter must be 'key: value' lines (a YAML mapping)")
    return {str(k).lower(): v for k, v in data.items()}, text[match.end() :]


def _html_to_markdown(html: str) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    if soup.find() is None:
        raise LoadError("not an HTML document (no tags found)")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(["script", "style", "nav", "footer", "head", "noscript"]):
        tag.decompose()
    body = soup.body or soup
    lines: list[str] = []
    for element in body.find_all(
        ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "table", "blockquote", "dt", "dd"]
    ):
        if element.find_parent(["li", "pre", "blockquote", "table"]) is not None:
            continue  # nested: the outer element already carries this text
        name = element.name
        if name == "pre":
            lines.append("```\n" + element.get_text().strip("\n") + "\n```")
            continue
        if name == "table":
            lines.append("\n" + "\n".join(_html_table(element)) + "\n")
            continue
        text = _inline_text(element)
        if not text:
            continue
        if name[0] == "h" and name[1:].isdigit():
            lines.append("\n" + "#" * int(name[1]) + " " + text + "\n")
        elif name == "li":
            lines.append(("1. " if element.parent and element.parent.name == "ol" else "- ") + text)
        else:
            lines.append("\n" + text + "\n")
    return "\n".join(lines), title


_HTML_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)


def _inline_text(element) -> str:
    """An element's text with inline tags joined as written: "<b>x</b>." reads "x."
    (a space only where a block starts, as a browser would break the line)."""
    from bs4 import Comment, NavigableString, Tag

    parts: list[str] = []
    for node in element.descendants:
        if isinstance(node, Tag):
            if node.name in _HTML_BLOCKS:
                parts.append(" ")
        elif isinstance(node, NavigableString) and not isinstance(node, Comment):
            parts.append(str(node))
    return " ".join("".join(parts).split())


def _html_table(table) -> list[str]:
    """Markdown rows of an HTML table; a rowspan or colspan cell fills every row and
    column it covers, so each row reads whole."""
    grid: dict[tuple[int, int], str] = {}
    rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    header_rows = 0
    for r, tr in enumerate(rows):
        c = 0
        for cell in tr.find_all(["td", "th"], recursive=False):
            while (r, c) in grid:
                c += 1
            text = _inline_text(cell).replace("|", "\\|")
            span_r = _span(cell.get("rowspan"))
            span_c = _span(cell.get("colspan"))
            for dr in range(span_r):
                for dc in range(span_c):
                    grid.setdefault((r + dr, c + dc), text)
            c += span_c
        if r == header_rows and tr.find("th") is not None and tr.find("td") is None:
            header_rows += 1
    width = max((c for _, c in grid), default=-1) + 1
    out = []
    for r in range(len(rows)):
        out.append("| " + " | ".join(grid.get((r, c), "") for c in range(width)) + " |")
        if r == max(header_rows, 1) - 1:
            out.append("|" + "---|" * width)
    return out


def _span(value) -> int:
    try:
        return max(1, min(int(str(value).strip()), 100))
    except (TypeError, ValueError):
        return 1


def _pdf_to_text(raw: bytes) -> tuple[str, str]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                decrypted = reader.decrypt("")
            except Exception as exc:
                raise LoadError("the PDF is encrypted (password-protected)") from exc
            if not decrypted:
                raise LoadError("the PDF is encrypted (password-protected)")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = ""
        if reader.metadata and reader.metadata.title:
            title = str(reader.metadata.title).strip()
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LoadError(f"the PDF is damaged or not a PDF ({exc})") from exc
    except Exception as exc:  # pypdf raises a wide range of errors on corrupt input
        raise LoadError(f"the PDF could not be read ({type(exc).__name__}: {exc})") from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text.strip():
        raise LoadError("the PDF has no extractable text (scanned images need OCR first)")
    return text, title


def _docx_to_markdown(raw: bytes) -> tuple[str, str]:
    import io
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise LoadError("not a valid Word (.docx) file; it may be damaged") from exc
    except Exception as exc:
        raise LoadError(f"the Word file could not be read ({type(exc).__name__})") from exc
    lines: list[str] = []
    style_names, default_style = _docx_paragraph_styles(document)
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = docx.text.paragraph.Paragraph(child, document)
            text = paragraph.text.strip()
            if not text:
                continue
            style = style_names.get(child.style or "", default_style)
            level = _docx_heading_level(style)
            if level:
                lines.append("\n" + "#" * level + " " + text + "\n")
            elif "List" in style:
                lines.append("- " + text)
            else:
                lines.append("\n" + text + "\n")
        elif tag == "tbl":
            table = docx.table.Table(child, document)
            lines.append("")
            for row in table.rows:
                lines.append("| " + " | ".join(c.text.strip() for c in row.cells) + " |")
            lines.append("")
    title = (document.core_properties.title or "").strip()
    return "\n".join(lines), title


def _docx_paragraph_styles(document) -> tuple[dict[str, str], str]:
    """({paragraph style id: name}, the default paragraph style's name), read once.

    python-docx's `paragraph.style` searches the whole styles part for every paragraph
    (the default style by walking every style in Python): a small file with many styles
    and paragraphs took minutes. One pass here keeps loading linear.
    """
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml.ns import qn
    from docx.styles import BabelFish

    names: dict[str, str] = {}
    default = ""
    for style in document.styles.element.iterchildren(qn("w:style")):
        if style.type != WD_STYLE_TYPE.PARAGRAPH:
            continue
        name = BabelFish.internal2ui(style.name_val) if style.name_val else ""
        names.setdefault(style.styleId or "", name)
        if style.default:
            default = name  # the last default wins, as Word (and python-docx) read it
    return names, default


def _docx_heading_level(style: str) -> int:
    if style == "Title":
        return 1
    match = re.match(r"Heading (\d)", style)
    return min(int(match.group(1)), 6) if match else 0


def first_heading(text: str) -> str | None:
    """The first Markdown heading outside code blocks, or None."""
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            match = _ATX_HEADING.match(line)
            if match:
                return match.group(2).strip()
    return None


# -- metadata -----------------------------------------------------------------------------
def _title(front: dict, text: str, relative: Path) -> str:
    if front.get("title"):
        return str(front["title"]).strip()
    heading = first_heading(text)
    if heading:
        return heading
    first = text.strip().split("\n", 1)[0].strip()
    if (
        first
        and len(first) <= 80
        and "\n\n" in text.strip()
        and (first.isupper() or (first.istitle() and not first.endswith(".")))
    ):
        return first.capitalize() if first.isupper() else first
    return relative.stem.replace("-", " ").replace("_", " ").strip().capitalize()


def _doc_type(front: dict, relative: Path, warnings: list[str]) -> str:
    declared = str(front.get("type") or "").strip().lower()
    if declared:
        if declared in DOC_TYPES:
            return declared
        if declared in _FOLDER_TYPES:
            return _FOLDER_TYPES[declared]
        warnings.append(
            f"front matter type '{declared}' is not one of {', '.join(DOC_TYPES)}; "
            "using the folder name instead"
        )
    if len(relative.parts) > 1:
        return _FOLDER_TYPES.get(relative.parts[0].lower(), "other")
    return "other"


def _audience(value: object) -> list[str]:
    if value is None or value == "":
        return []
    items = value if isinstance(value, list | tuple) else re.split(r"[,;]", str(value))
    return [str(item).strip().lower() for item in items if str(item).strip()]


def _date(value: object, warnings: list[str]) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        warnings.append(f"'updated: {value}' is not a date like 2026-09-30; ignored")
        return ""
