"""Documents kept in the database (leaders' updates, the change team's captured answers)
put into and taken out of the live playbook index as they change.

The database row is the truth: a failed index is logged, and the next `changebot ingest`
(which re-reads these documents) repairs it. After a change the keyword side is refreshed
at once, so the next question in this process sees it.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class LiveDocuments:
    def __init__(self, *, indexer, retriever) -> None:
        self.indexer = indexer
        self.retriever = retriever

    def put(self, document, what: str) -> None:
        try:
            self.indexer.index_document(document)
            self.retriever.refresh(force=True)
        except Exception:
            log.exception("Could not index %s into the playbook", what)

    def take_out(self, source: str, what: str) -> None:
        try:
            self.indexer.remove_source(source)
            self.retriever.refresh(force=True)
        except Exception:
            log.exception("Could not remove %s from the playbook", what)
