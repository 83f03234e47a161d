"""Times of observations: parsed once per distinct text, checked, kept as int64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from kgmed.errors import (
    RecordsError,
)
from kgmed.records._codes import _Distinct
from kgmed.records._normalize import clean_text

_UNITS = ("s", "ms", "us", "ns")
_NAT = np.iinfo(np.int64).min


class _Times:
    """Observation times, parsed part by part, and what a failed parse's message needs.

    Each part's distinct cells are parsed once, as
    ``pandas.to_datetime(format="mixed", utc=True)`` parses a column: the
    times get the finest resolution any part needs. The whole table fails to
    parse if a part does, and also when one part needs nanoseconds and
    another holds dates that nanoseconds cannot (after 2262). Then the
    cells a message may name (those that did not parse, or that set or break
    the resolution) are parsed again together, in the order first seen, so
    that the message is the one the whole column gives.
    """

    def __init__(self, source: str, column: str | None) -> None:
        self.source = source
        self.column = column
        self.parts: list[tuple[np.ndarray, str]] = []
        self.numeric = False
        self.failed: Exception | None = None
        self.coerce_failed = False
        self.too_wide = False
        self.suspects = _Distinct()
        self.first_row: list[int] = []
        self.rows: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.fine: tuple[int, Any] | None = None

    def add(self, values: pd.Series, *, offset: int) -> None:
        """Parse one part's times; ``offset`` is the number of rows before it."""
        if self.numeric:
            return
        dtype = values.dtype
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            self.numeric = True
            return
        local, uniques = pd.factorize(values, use_na_sentinel=True)
        distinct = pd.Series(uniques)
        ok = True
        try:
            parsed = pd.to_datetime(distinct, errors="raise", format="mixed", utc=True)
        except (ValueError, TypeError, OverflowError) as err:
            ok = False
            if self.failed is None:
                self.failed = err
            try:
                parsed = pd.to_datetime(distinct, errors="coerce", format="mixed", utc=True)
            except (ValueError, TypeError, OverflowError):
                self.coerce_failed = True
                self._suspect(np.arange(len(uniques)), local, uniques, offset)
                return
        nat = parsed.isna().to_numpy()
        # Cells that may be named if the column fails: those that did not
        # parse, and those that set or break its resolution.
        suspect = nat.copy()
        if ok and nat.any():
            suspect &= clean_text(distinct).notna().to_numpy()
        unit = str(parsed.dtype.unit)
        ints = np.asarray(parsed.array.asi8)
        if unit == "ns":
            if self.fine is None and not nat.all():
                fine = ~nat & (ints % 1000 != 0)
                first = int(np.argmax(fine)) if fine.any() else int(np.argmax(~nat))
                self.fine = (offset + int(np.argmax(local == first)), uniques[first])
        else:
            limit = (2**63 - 1) // 10 ** (3 * (3 - _UNITS.index(unit)))
            wide = ~nat & (np.abs(np.where(nat, 0, ints)) > limit)
            if wide.any():
                self.too_wide = True
                suspect |= wide
        if suspect.any():
            self._suspect(np.flatnonzero(suspect), local, uniques, offset)
        if ok:
            self.parts.append((np.append(ints, _NAT)[local], unit))

    def _suspect(self, which: np.ndarray, local: np.ndarray, uniques: Any, offset: int) -> None:
        codes = self.suspects.codes_of([uniques[i] for i in which])
        lookup = np.full(len(uniques) + 1, -1, dtype=np.int64)
        lookup[which] = codes
        row_codes = lookup[local]
        rows = np.flatnonzero(row_codes >= 0)
        self.rows.append(rows + offset)
        self.codes.append(row_codes[rows])
        seen, first = np.unique(row_codes[rows], return_index=True)
        for code, row in zip(seen.tolist(), rows[first].tolist(), strict=True):
            if code == len(self.first_row):
                self.first_row.append(offset + row)

    def values(self, rows: Callable[[np.ndarray], str], n: int) -> tuple[np.ndarray, str]:
        """Every row's time as int64 in the unit returned, or the error the whole column gives."""
        if self.numeric:
            raise RecordsError(
                f"{self.source}: column {self.column!r} holds numbers, not dates; write times as "
                f"ISO 8601 (2021-03-04 or 2021-03-04T10:30:00) or convert them with "
                f"pandas.to_datetime(..., unit=...) first"
            )
        unit = max((u for _, u in self.parts), key=_UNITS.index, default="s")
        if self.failed is None and not (self.too_wide and unit == "ns"):
            arrays = []
            for ints, part_unit in self.parts:
                if part_unit != unit:
                    factor = 10 ** (3 * (_UNITS.index(unit) - _UNITS.index(part_unit)))
                    ints = np.where(ints == _NAT, _NAT, ints * factor)
                arrays.append(ints)
            self.parts = []
            return (arrays[0] if len(arrays) == 1 else np.concatenate(arrays)), unit
        self._raise(rows, n)

    def _raise(self, rows: Callable[[np.ndarray], str], n: int) -> NoReturn:
        cells = list(zip(self.first_row, self.suspects.values, strict=True))
        if self.fine is not None:
            cells.append(self.fine)
        cells.sort(key=lambda cell: cell[0])
        sample = pd.Series([value for _, value in cells], dtype=object)
        err: Exception | None = self.failed
        try:
            pd.to_datetime(sample, errors="raise", format="mixed", utc=True)
        except (ValueError, TypeError, OverflowError) as found:
            err = found
        if err is None:
            err = pd.errors.OutOfBoundsDatetime("dates outside the range of nanoseconds")
        where = ""
        if not self.coerce_failed:
            try:
                parsed = pd.to_datetime(sample, errors="coerce", format="mixed", utc=True)
                bad_cells = (parsed.isna() & clean_text(sample).notna()).to_numpy()
            except (ValueError, TypeError, OverflowError):
                bad_cells = np.zeros(len(cells), dtype=bool)
            bad_values = {value for (_, value), bad in zip(cells, bad_cells, strict=True) if bad}
            is_bad = np.array([value in bad_values for value in self.suspects.values] + [False])
            mask = np.zeros(n, dtype=bool)
            example: Any = None
            for part_rows, part_codes in zip(self.rows, self.codes, strict=True):
                hit = is_bad[part_codes]
                mask[part_rows[hit]] = True
                if example is None and hit.any():
                    example = self.suspects.values[int(part_codes[np.argmax(hit)])]
            if mask.any():
                where = f" such as {str(example)!r} at {rows(mask)}"
        raise RecordsError(
            f"{self.source}: column {self.column!r} holds values that are not dates{where} "
            f"({err}); write times as ISO 8601 (2021-03-04 or 2021-03-04T10:30:00)"
        ) from err


def _times_series(times: np.ndarray | None, unit: str, n: int) -> pd.Series:
    if times is None:
        return pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype="datetime64[ns, UTC]")
    return pd.Series(times.view(f"M8[{unit}]")).dt.tz_localize("UTC")
