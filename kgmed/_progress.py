"""Progress bars for the steps that can take more than a few seconds.

Every function with a ``progress`` argument takes ``None`` (the default: a bar
when standard error is a terminal, none in pipes, logs, CI and notebooks'
captured output), ``True`` (always) or ``False`` (never). Bars are
:mod:`tqdm`'s, written to standard error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from kgmed.errors import ParameterError

__all__ = ["Stages", "check_progress", "progress_bar"]

T = TypeVar("T")


def check_progress(progress: object) -> bool:
    """Whether to show bars for a ``progress`` argument (None: on a terminal)."""
    if progress is None:
        stream = sys.stderr
        return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
    if not isinstance(progress, bool):
        raise ParameterError(f"progress must be True, False or None, got {progress!r}")
    return progress


def progress_bar(
    iterable: Iterable[T], *, show: bool, desc: str, total: int | None = None, unit: str = "it"
) -> Iterator[T]:
    """``iterable``, drawn as a bar on standard error when ``show`` is true."""
    if not show:
        yield from iterable
        return
    from tqdm import tqdm

    bar: Any = tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, file=sys.stderr)
    try:
        yield from bar
    finally:
        bar.close()


class Stages:
    """A bar over the named stages of one long call, one tick per stage done.

    Use as a context manager and call :meth:`start` as each stage begins;
    the bar shows the stage under way and closes when the call ends (or
    fails). Nothing is drawn when ``show`` is false.
    """

    def __init__(self, names: Iterable[str], *, show: bool, desc: str) -> None:
        self.names = list(names)
        self.show = show
        self.desc = desc
        self._bar: Any = None
        self._started = 0

    def __enter__(self) -> Stages:
        if self.show:
            from tqdm import tqdm

            self._bar = tqdm(
                total=len(self.names), desc=self.desc, unit="stage", leave=False, file=sys.stderr
            )
        return self

    def start(self, name: str) -> None:
        """Mark the stage ``name`` (one of ``names``) as under way."""
        if name not in self.names:
            raise ValueError(f"unknown stage {name!r}; stages are {self.names}")
        if self._bar is None:
            return
        if self._started:
            self._bar.update(1)
        self._started += 1
        self._bar.set_postfix_str(name)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            if self._started:
                self._bar.update(1)
            self._bar.close()
