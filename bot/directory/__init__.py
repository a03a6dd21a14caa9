"""The employee directory: Slack members plus department, team and location from HR's CSV.

Domain code: no slack_bolt, no slack_sdk. Surveys and broadcasts resolve audiences here.
"""

from bot.directory.service import (
    CSV_ATTRIBUTES,
    Directory,
    DirectoryImportError,
    ImportReport,
    SyncReport,
    valid_timezone,
)

__all__ = [
    "CSV_ATTRIBUTES",
    "Directory",
    "DirectoryImportError",
    "ImportReport",
    "SyncReport",
    "valid_timezone",
]
