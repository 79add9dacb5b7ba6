"""One loaded run per pane, kept until the run or its checkpoint step changes.

Filled inside a pane's (exclusive) worker thread: loading a checkpoint never happens in a
message handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ModelCache:
    def __init__(self) -> None:
        self.key: tuple[str, int | None] | None = None  # (run path, checkpoint step)
        self.value: Any = None

    def holds(self, path: str | None, step: int | None) -> bool:
        return self.key is not None and self.key == (path, step)

    def get(self, path: str, step: int | None, load: Callable[[str], Any]) -> Any:
        """The run at ``path``, loaded with ``load(path)`` unless already held for this step."""
        if not self.holds(path, step):
            self.value, self.key = load(path), (path, step)
        return self.value
