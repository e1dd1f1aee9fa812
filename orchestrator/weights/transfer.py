"""huggingface_hub's `snapshot_download`, run on a worker thread so the caller can watch, report and stop it.

- Progress bars: a `huggingface_hub.utils.tqdm` subclass, disabled (nothing printed), that notices a restart
  from byte 0 (a negative update) and raises `Cancelled` on the next chunk once `cancel()` was called; that is
  how Ctrl-C stops the downloads within one 10 MiB chunk, through the library's own extension point.
- Retries: huggingface_hub resumes a cut transfer itself (5 tries, `Range` from the last whole 10 MiB chunk);
  when a whole attempt still fails on the network, it is run again (`ATTEMPTS`), finished files being skipped.
- Its warnings ("Trying to resume download...") become `retries` instead of raw lines on stderr: while the
  transfer runs, the library logger's own handlers are swapped for one that collects them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ATTEMPTS", "Cancelled", "Transfer"]

ATTEMPTS = 3
_BACKOFF = (1.0, 3.0)


class Cancelled(Exception):
    """Raised inside huggingface_hub's download loop once the pull was interrupted."""


class _Warnings(logging.Handler):
    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink(record.getMessage().splitlines()[-1] if record.getMessage() else "retry")


class Transfer:
    """One `snapshot_download` of `commit` into `hub_dir`, on a daemon thread (`start`, `done`, `error`)."""

    def __init__(
        self,
        repo_id: str,
        commit: str,
        hub_dir: Path,
        *,
        endpoint: str,
        token: str | None,
        transient: Callable[[BaseException], bool],
    ) -> None:
        self.repo_id, self.commit, self.hub_dir = repo_id, commit, hub_dir
        self.endpoint, self._token, self._transient = endpoint, token, transient
        self.retries: list[str] = []
        self.restarted = False
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-download", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def done(self, wait: float = 0.0) -> bool:
        self._thread.join(wait)
        return not self._thread.is_alive()

    def cancel(self, wait: float = 3.0) -> bool:
        """Stop at the next chunk; True when the downloads stopped within `wait` seconds."""
        self._cancel.set()
        return self.done(wait)

    def _bars(self) -> type[Any]:
        from huggingface_hub.utils.tqdm import tqdm as hf_tqdm

        transfer = self

        class QuietBars(hf_tqdm):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["disable"] = True
                super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]

            def update(self, n: float | None = 1) -> bool | None:
                if transfer._cancel.is_set():
                    raise Cancelled
                if n is not None and n < 0:
                    transfer.restarted = True
                return super().update(n)  # type: ignore[no-any-return]

        return QuietBars

    def _run(self) -> None:
        from huggingface_hub import snapshot_download

        logger = logging.getLogger("huggingface_hub")
        own = list(logger.handlers)  # the library's stderr handler: its lines would tear the live display
        for item in own:
            logger.removeHandler(item)
        handler = _Warnings(self.retries.append)
        logger.addHandler(handler)
        try:
            for attempt in range(ATTEMPTS):
                try:
                    snapshot_download(
                        self.repo_id,
                        revision=self.commit,
                        cache_dir=self.hub_dir,
                        endpoint=self.endpoint,
                        token=self._token,
                        tqdm_class=self._bars(),
                    )
                    return
                except Cancelled as exc:
                    self.error = exc
                    return
                except Exception as exc:
                    if self._cancel.is_set() or attempt == ATTEMPTS - 1 or not self._transient(exc):
                        self.error = exc
                        return
                    self.retries.append(f"attempt {attempt + 1} failed ({type(exc).__name__}); trying again")
                    time.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
        finally:
            logger.removeHandler(handler)
            for item in own:
                logger.addHandler(item)
