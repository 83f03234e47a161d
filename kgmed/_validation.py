"""Small checks run once at kgmed's public boundaries."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import pandas as pd

from kgmed.errors import ColumnNotFound, ParameterError

__all__ = [
    "as_number",
    "check_choice",
    "check_columns",
    "check_fraction",
    "check_positive_int",
]


def check_columns(
    df: pd.DataFrame,
    required: dict[str, str | None],
    *,
    where: str = "records",
) -> None:
    """Raise ColumnNotFound naming the first missing column and how to fix it.

    ``required`` maps each column name to the keyword argument that chose it
    (``{"pid": "patient"}``), so the message can say ``Pass patient=...``.
    """
    columns = [str(c) for c in df.columns]
    for column, argument in required.items():
        if column not in df.columns:
            hint = (
                f" Pass {argument}=<column> or rename the column."
                if argument
                else " Rename the column."
            )
            close = _close_columns(column, columns)
            near = f" Did you mean {close!r}?" if close else ""
            raise ColumnNotFound(
                f"{where}: column {column!r} not found; columns are {columns}.{near}{hint}"
            )


def _close_columns(name: str, columns: Sequence[str]) -> str | None:
    import difflib

    lowered = {c.lower().strip(): c for c in columns}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[match[0]] if match else None


def check_fraction(
    name: str,
    value: object,
    *,
    low_inclusive: bool = False,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float in (0, 1] (bounds as asked) or raise ParameterError."""
    lo = "[0" if low_inclusive else "(0"
    hi = "1]" if high_inclusive else "1)"
    if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(float(value)):
        raise ParameterError(f"{name} must be a number in {lo}, {hi}, got {value!r}")
    v = float(value)
    low_ok = v >= 0 if low_inclusive else v > 0
    high_ok = v <= 1 if high_inclusive else v < 1
    if not (low_ok and high_ok):
        raise ParameterError(f"{name} must be in {lo}, {hi}, got {value!r}")
    return v


def check_positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an int at least ``minimum`` or raise ParameterError."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if int(value) < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices`` or raise ParameterError."""
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise ParameterError(f"{name} must be one of {options}, got {value!r}")
    return value


def as_number(value: object) -> float | None:
    """``value`` as a float, or None when missing, NaN, a bool or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number
