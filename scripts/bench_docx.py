"""Benchmark: loading a small .docx with many styles and many paragraphs.

python-docx resolves a paragraph's style by searching the whole styles part (the
default style by walking every style in Python), once per paragraph; a 39 KiB file took
93 s to ingest that way. This script writes such a file (compressed, it stays small),
then times bot.knowledge.loaders.load_file on it and, for comparison, the per-paragraph
`paragraph.style` look-up the loader used to do.

    .venv/bin/python scripts/bench_docx.py [--paragraphs 4000] [--styles 3000]

Timings are printed, never asserted; the script exits 0. Nothing uses the network.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def make(path: Path, *, paragraphs: int, styles: int) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    for n in range(styles):
        document.styles.add_style(f"Custom {n}", WD_STYLE_TYPE.PARAGRAPH)
    for n in range(paragraphs):
        document.add_paragraph(f"Line {n}.")  # no style of its own: the default is looked up
    document.save(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=4000)
    parser.add_argument("--styles", type=int, default=3000)
    args = parser.parse_args()

    import docx

    from bot.knowledge.loaders import load_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "many-styles.docx"
        make(path, paragraphs=args.paragraphs, styles=args.styles)
        print(
            f"file: {path.stat().st_size / 1024:.1f} KiB, {args.paragraphs} paragraphs, "
            f"{args.styles} extra styles; load average {os.getloadavg()[0]:.2f}"
        )
        started = time.perf_counter()
        load_file(path, Path(folder))
        print(f"load_file (styles read once):          {time.perf_counter() - started:8.2f} s")
        document = docx.Document(str(path))
        started = time.perf_counter()
        for paragraph in document.paragraphs:
            _ = paragraph.style.name  # what the loader used to do for every paragraph
        print(f"paragraph.style per paragraph (before): {time.perf_counter() - started:8.2f} s")


if __name__ == "__main__":
    main()
