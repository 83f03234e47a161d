"""Columns as integer codes into tables of distinct values, and back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kgmed.schema import KINDS


class _Distinct:
    """Distinct values in the order first seen, each with an integer code (its position)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._index: dict[Any, int] | None = None

    def __len__(self) -> int:
        return len(self.values)

    def index(self) -> dict[Any, int] | None:
        """Each value's code; None while the table is empty."""
        if self._index is None and self.values:
            self._index = {value: i for i, value in enumerate(self.values)}
        return self._index

    def codes_of(self, values: Sequence[Any]) -> np.ndarray:
        """The codes of distinct ``values``, adding those not seen before."""
        if not self.values:
            # The first part's values are the table; a dict is built only
            # when a second part comes.
            self.values = values.tolist() if hasattr(values, "tolist") else list(values)
            return np.arange(len(self.values), dtype=np.int64)
        index = self.index()
        assert index is not None
        codes = np.empty(len(values), dtype=np.int64)
        for i, value in enumerate(values):
            code = index.get(value)
            if code is None:
                code = index[value] = len(self.values)
                self.values.append(value)
            codes[i] = code
        return codes


def _compact(codes: np.ndarray, size: int) -> np.ndarray:
    """Codes below ``size`` (or -1) in the smallest of int32 and int64 that holds them."""
    return codes.astype(np.int32 if size < 2**31 - 1 else np.int64, copy=False)


def _encode(
    values: pd.Series | str, clean: Callable[[pd.Series], pd.Series], table: _Distinct, n: int
) -> np.ndarray:
    """Codes into ``table`` of the cleaned ``values``, -1 where empty.

    Each distinct value is cleaned once; a string is one value for all
    ``n`` rows. A value already in ``table`` is its own cleaned form
    (cleaning twice changes nothing), so a part read after others cleans
    only the values not met before.
    """
    if isinstance(values, str):
        local = np.zeros(n, dtype=np.int64)
        uniques: Any = pd.Index([values], dtype=object)
    else:
        local, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = np.full(len(uniques) + 1, -1, dtype=np.int64)
    todo = np.arange(len(uniques))
    index = table.index()
    if index is not None:
        lookup[:-1] = [index.get(value, -1) for value in uniques]
        todo = np.flatnonzero(lookup[:-1] < 0)
    if len(todo):
        raw = uniques if len(todo) == len(uniques) else uniques[todo]
        cleaned = clean(pd.Series(raw))
        codes, distinct = pd.factorize(cleaned, use_na_sentinel=True)
        if len(distinct):
            known = table.codes_of(distinct.tolist())
            lookup[todo] = np.where(codes >= 0, known[codes], -1)
    return _compact(lookup[local], len(table))


def _strings(values: Sequence[Any], codes: np.ndarray) -> pd.Series:
    """``values[codes]`` as a string Series, ``<NA>`` where a code is -1."""
    return pd.Series(pd.array(list(values), dtype="string").take(codes, allow_fill=True))


def _categories(values: Sequence[Any], codes: np.ndarray, *, unique: bool = True) -> pd.Series:
    """``values[codes]`` as a categorical column, missing where a code is -1.

    A column of Records holds each distinct text once, as a category, and
    each row an integer code into them. The categories are the texts some
    row uses, sorted, so that sorting or grouping the column orders it as
    the texts themselves. ``unique=False`` when ``values`` may repeat a text.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = np.asarray(codes)
    size = len(values)
    texts = pa.array(list(values), type=pa.string()) if size else pa.array([], pa.string())
    used = np.bincount(codes[codes >= 0], minlength=size) > 0 if size else np.zeros(0, bool)
    if not used.all():
        texts = texts.filter(pa.array(used))
    order = pc.array_sort_indices(texts).to_numpy()
    if not unique and len(texts):
        # Equal texts sit side by side once sorted: number them once.
        ordered = texts.take(pa.array(order))
        new = np.ones(len(ordered), dtype=bool)
        new[1:] = ~pc.equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1)).to_numpy(
            zero_copy_only=False
        )
        rank_of_sorted = np.cumsum(new) - 1
        categories = ordered.filter(pa.array(new))
    else:
        rank_of_sorted = np.arange(len(order))
        categories = texts.take(pa.array(order)) if len(texts) else texts
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = rank_of_sorted
    # A value's code: its rank among the texts used (-1 stays -1).
    lookup = np.full(size + 1, -1, dtype=np.int64)
    lookup[np.flatnonzero(used)] = rank
    dtype = pd.CategoricalDtype(pd.Index(categories.to_pylist(), dtype="string"))
    final = _compact(lookup[codes], len(dtype.categories))
    return pd.Series(pd.Categorical.from_codes(final, dtype=dtype))


def _kind_categories(values: Sequence[str], codes: np.ndarray) -> pd.Series:
    """The kind column: every kind of :data:`~kgmed.schema.KINDS` is a category.

    A closed vocabulary: a user may set any row to any kind in place.
    """
    kinds = sorted(KINDS)
    lookup = np.append(np.array([kinds.index(v) for v in values], dtype=np.int64), -1)
    dtype = pd.CategoricalDtype(pd.Index(kinds, dtype="string"))
    return pd.Series(pd.Categorical.from_codes(_compact(lookup[codes], len(kinds)), dtype=dtype))


def _missing_categories(n: int) -> pd.Series:
    """A categorical column of ``n`` missing values."""
    return _categories([], np.full(n, -1, dtype=np.int8))
