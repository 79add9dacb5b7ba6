"""The loaded checkpoints that Inspect, Generate, Translate, Classify and Forecast share.

One cache for the app (the panes get it from the app): a checkpoint is loaded once per (run path,
checkpoint step), whichever pane asks first. ``get`` is called only from the panes' thread
workers, never from a message handler; a lock makes a second worker that wants the same
checkpoint wait for the first load instead of loading it again. The most recent ``size`` are
kept (the current run's newest checkpoint, and the one before while a pane still uses it).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

from rnn_tui.errors import RnnTuiError
from rnn_tui.tui.history import task_line

if TYPE_CHECKING:
    from rnn_tui.api import LoadedClassifier, LoadedForecaster, LoadedRun, LoadedTranslator

    Loaded = LoadedRun | LoadedTranslator | LoadedClassifier | LoadedForecaster

Key = tuple[str, "int | None"]  # (run path, checkpoint step)


def _load_run(path: str) -> Loaded:
    """A language model, translator or classifier, whatever the run trained."""
    from rnn_tui.api import load_any  # imports torch (~1.6 s): only ever in a worker thread

    return load_any(path)


def unless_classifier(loaded: Loaded) -> LoadedRun | LoadedTranslator:
    """A loaded run for the panes that read language models and translators: a classifier (a
    forecaster) is one line that sends the user to the tab that uses it."""
    from rnn_tui.api import LoadedClassifier, LoadedForecaster

    if isinstance(loaded, (LoadedClassifier, LoadedForecaster)):
        raise RnnTuiError(task_line(loaded.run.id, loaded.config.task))
    return loaded


class ModelCache:
    def __init__(self, load: Callable[[str], Loaded] = _load_run, size: int = 2) -> None:
        self._load, self._size = load, size
        self._lock = threading.Lock()
        self._items: OrderedDict[Key, Loaded] = OrderedDict()

    def holds(self, path: str | None, step: int | None) -> bool:
        return path is not None and (path, step) in self._items

    def get(self, path: str, step: int | None) -> Loaded:
        """The run at ``path`` as of checkpoint ``step``, loaded unless already held (thread-safe)."""
        key = (path, step)
        with self._lock:
            if key not in self._items:
                self._items[key] = self._load(path)
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            self._items.move_to_end(key)
            return self._items[key]
