"""Generate the .docx and .pdf documents of the c-policies-tables evaluation corpus.

The text below IS the source of truth for the questions whose `source` is one of these files: every
`phrase` in questions.yaml for them occurs verbatim in this text. Run from the repository root:

    /work/main/.venv/bin/python tests/eval/corpora/c-policies-tables/make_binaries.py

Needs python-docx and reportlab (not runtime dependencies of the bot). The output is committed, so the
eval never runs this script; re-run it only when the text changes.
"""

# ruff: noqa: E501  (document text: one sentence per line reads better than wrapped fragments)
from __future__ import annotations

import datetime
from pathlib import Path

KNOWLEDGE = Path(__file__).resolve().parent / "knowledge"

DOCX_PATH = KNOWLEDGE / "guides" / "quayside-quick-reference.docx"
PDF_PATH = KNOWLEDGE / "policies" / "service-desk-hours-and-contacts.pdf"

# (kind, text) blocks; kind is "title", "h1", "p", "bullet" or "table" (text is a list of rows).
DOCX_BLOCKS: list[tuple[str, object]] = [
    ("title", "Quayside quick reference for colleagues"),
    (
        "p",
        "Quayside replaces HelpPoint and the IT mailbox from 1 February 2027. This two-page guide tells "
        "you how to log a ticket, what the statuses mean and where to find your old HelpPoint tickets. "
        "Keep it next to your desk for the first few weeks.",
    ),
    ("h1", "Logging a ticket"),
    (
        "bullet",
        "Open the portal at quayside.marlowfinch.example and sign in with your normal Windows account.",
    ),
    (
        "bullet",
        "On your phone, use the Quayside Go app, available for iOS and Android from the company app store.",
    ),
    ("bullet", 'Choose "Something is broken" for incidents and "I need something" for requests.'),
    ("bullet", "Three fields are mandatory: category, affected service and branch code."),
    ("bullet", "Head Office colleagues enter the branch code HO1 instead of a branch number."),
    (
        "bullet",
        "Attachments can be up to 25 MB each; screenshots help the analyst more than long descriptions.",
    ),
    (
        "bullet",
        "Emails to the IT mailbox still create tickets until 31 March 2027; after that they get an "
        "auto-reply with a link to the portal.",
    ),
    ("h1", "What the statuses mean"),
    (
        "table",
        [
            ["Status", "What it means", "What you do"],
            [
                "New",
                "Logged, not yet picked up by an analyst",
                "Nothing; the first response target is running",
            ],
            ["Assigned", "An analyst or resolver group owns it", "Nothing"],
            [
                "In progress",
                "Someone is working on it",
                "Answer questions in the ticket conversation",
            ],
            [
                "Awaiting requester",
                "We need something from you; the clock is paused",
                "Reply within 5 business days or the ticket closes",
            ],
            ["Resolved", "We believe it is fixed", "Reopen within 7 days if it is not"],
            [
                "Closed",
                "Closed automatically 7 days after Resolved",
                "Log a new ticket if the problem returns",
            ],
        ],
    ),
    ("h1", "Notifications"),
    (
        "bullet",
        "Quayside emails you when the status changes and when an analyst adds a public comment.",
    ),
    (
        "bullet",
        "You can switch email notifications to a daily digest sent at 08:00 under My settings.",
    ),
    (
        "bullet",
        "Approvers receive approval requests in Quayside and in Teams; approvals expire after 5 business days.",
    ),
    ("h1", "Your old HelpPoint tickets"),
    (
        "p",
        "HelpPoint becomes read-only on 1 February 2027. Tickets that are still open in HelpPoint on that "
        "day are finished in HelpPoint by the analyst who owns them; they are not moved into Quayside. "
        "To look up an old ticket, open HelpPoint from the Tideline page on the intranet and search by "
        "ticket number, which always starts with HP.",
    ),
    ("h1", "Getting help with Quayside itself"),
    ("bullet", "Ask your team's super user first."),
    ("bullet", "Post in the #tideline-help channel on Teams."),
    (
        "bullet",
        'The "How do I" articles in the Quayside knowledge base have short videos of under 2 minutes each.',
    ),
    (
        "p",
        "Feedback on this guide goes to the Tideline programme team. We will update it after the first "
        "month of live use.",
    ),
]

# (kind, text) blocks for the PDF; kind is "title", "h1", "p" or "bullet".
PDF_BLOCKS: list[tuple[str, str]] = [
    ("title", "Service desk hours and contacts"),
    (
        "p",
        "Marlow & Finch IT Service Desk. Effective from 1 February 2027. This sheet lists when the service "
        "desk is open, how to reach it and what to do out of hours. Print it for the branch staff room.",
    ),
    ("h1", "Opening hours"),
    ("bullet", "Phone and portal support: 07:00 to 20:00, Monday to Friday."),
    ("bullet", "Saturday: 08:00 to 14:00, for branches that open on Saturdays."),
    (
        "bullet",
        "Sunday and bank holidays: closed, except Severity 1 incidents through the out-of-hours line.",
    ),
    ("bullet", "Live chat in the Quayside portal: 08:00 to 18:00, Monday to Friday."),
    ("bullet", "Christmas Eve and New Year's Eve: the service desk closes at 16:00."),
    ("h1", "Numbers to call"),
    ("bullet", "Service desk: 0300 555 0142 (this number is not changing)."),
    (
        "bullet",
        "Branch priority line: 0300 555 0142, then option 2; branch managers are answered first.",
    ),
    ("bullet", "Out-of-hours line for Severity 1 incidents: 0300 555 0199."),
    (
        "bullet",
        "Lost or stolen laptop or phone: call the service desk at once, then report it to your line manager.",
    ),
    ("h1", "Before you call"),
    (
        "p",
        "Have your colleague number, your branch code and any error message ready. If the problem affects "
        "members, say so at the start of the call so the analyst can set the right severity.",
    ),
    ("h1", "Walk-up IT bar"),
    (
        "p",
        "The walk-up IT bar is on the 3rd floor of Head Office in Leeds. It is open on Tuesdays and "
        "Thursdays, 10:00 to 15:00, for laptop problems, new headsets and password help. No appointment "
        "is needed; bring your laptop and your building pass.",
    ),
    ("h1", "Service levels we report on"),
    ("bullet", "Calls answered within 60 seconds: target 85%."),
    ("bullet", "Chats answered within 2 minutes: target 90%."),
    ("bullet", "Tickets resolved at first contact: target 70%."),
    (
        "bullet",
        "Colleague satisfaction score: target 4.5 out of 5, from the survey sent when a ticket is closed.",
    ),
    ("h1", "Language and accessibility"),
    (
        "p",
        "Welsh-language support is available on request between 09:00 and 17:00. Colleagues who use a "
        "screen reader or relay service can ask for a named analyst for the life of a ticket.",
    ),
]


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Quayside quick reference for colleagues"
    fixed = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)  # reproducible bytes
    document.core_properties.created = fixed
    document.core_properties.modified = fixed
    for kind, text in DOCX_BLOCKS:
        if kind == "title":
            document.add_heading(str(text), level=0)
        elif kind == "h1":
            document.add_heading(str(text), level=1)
        elif kind == "bullet":
            document.add_paragraph(str(text), style="List Bullet")
        elif kind == "table":
            rows = list(text)  # type: ignore[arg-type]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            document.add_paragraph(str(text))
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))


def make_pdf(path: Path) -> None:
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    rl_config.invariant = (
        1  # no timestamp or random id in the file: re-running gives the same bytes
    )

    styles = getSampleStyleSheet()
    story = []
    for kind, text in PDF_BLOCKS:
        escaped = text.replace("&", "&amp;").replace("<", "&lt;")
        if kind == "title":
            story.append(Paragraph(escaped, styles["Title"]))
        elif kind == "h1":
            story.append(Paragraph(escaped, styles["Heading1"]))
        elif kind == "bullet":
            story.append(Paragraph(escaped, styles["Normal"], bulletText="-"))
        else:
            story.append(Paragraph(escaped, styles["Normal"]))
        story.append(Spacer(1, 4))
    path.parent.mkdir(parents=True, exist_ok=True)
    document = SimpleDocTemplate(str(path), pagesize=A4, title="Service desk hours and contacts")
    document.build(story)


def source_text() -> dict[str, str]:
    """The text put into each binary, keyed by its path relative to knowledge/ (for checks)."""

    def flatten(blocks) -> str:
        parts: list[str] = []
        for _, text in blocks:
            if isinstance(text, list):
                parts.extend(" | ".join(row) for row in text)
            else:
                parts.append(str(text))
        return "\n".join(parts)

    return {
        DOCX_PATH.relative_to(KNOWLEDGE).as_posix(): flatten(DOCX_BLOCKS),
        PDF_PATH.relative_to(KNOWLEDGE).as_posix(): flatten(PDF_BLOCKS),
    }


if __name__ == "__main__":
    make_docx(DOCX_PATH)
    make_pdf(PDF_PATH)
    print(f"wrote {DOCX_PATH} and {PDF_PATH}")
