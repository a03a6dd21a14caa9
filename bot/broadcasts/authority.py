"""Who may change a leader's update: its author, or a broadcast admin (a setting).

Any leader may send updates, but one leader must not be able to edit, remind, recall or
cancel another leader's update. An admin may (to fix a colleague's mistake while they are
away); an admin's edit then names the admin on every copy ("edited by …").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol


class _HasAuthor(Protocol):
    author: str
    title: str


class Authority:
    def __init__(self, *, admins: Iterable[str] = (), name_of: Callable[[str], str]) -> None:
        self.admins = frozenset(admins)
        self.name_of = name_of

    def may_change(self, update: _HasAuthor, actor: str) -> bool:
        return actor == update.author or actor in self.admins

    def refusal(self, update: _HasAuthor) -> str:
        return (
            f"Only {self.name_of(update.author)}, who wrote “{update.title}”, or a broadcast "
            "admin can edit, remind, recall or cancel it. Ask them if something needs to change."
        )
