"""Completion for a path typed in an Input: the first entry of that directory that starts
with what was typed (directories end in "/"); → at the end of the field accepts it.

The directory is listed in a thread (``asyncio.to_thread``), never on the event loop, so a
slow or network file system cannot stall the app. Hidden entries are offered only once a "."
is typed; "~" is expanded for the lookup and kept in the completion.
"""

from __future__ import annotations

import asyncio
import os

from textual.suggester import Suggester


def complete_path(value: str) -> str | None:
    """The completion of ``value`` (the typed text plus the rest of an entry's name), or None."""
    if not value or value.endswith(os.sep + os.sep):
        return None
    head, prefix = os.path.split(value)
    folder = os.path.expanduser(head) if head else "."
    try:
        with os.scandir(folder) as entries:
            names = sorted((e.name + (os.sep if e.is_dir() else "")) for e in entries
                           if e.name.startswith(prefix) and (prefix.startswith(".") or not e.name.startswith(".")))
    except OSError:
        return None
    for name in names:
        if name != prefix:
            return os.path.join(head, name) if head else name
    return None


class PathSuggester(Suggester):
    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # folders change; paths are case-sensitive

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)
