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

__all__ = ["check_progress", "progress_bar"]

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
