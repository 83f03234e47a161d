"""Vectorised clean-up of the text that readers meet in real records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["clean_codes", "clean_text", "label_key", "per_distinct"]

# Every run of whitespace, control character (C0 and C1) or underscore
# becomes one space. NFKC has already turned non-breaking and other odd
# spaces into plain ones.
_SEPARATORS = r"[\s\x00-\x1f\x7f-\x9f_]+"
# Invisible characters that only make equal-looking labels differ: soft
# hyphen, zero-width space, word joiner, and a byte-order mark inside text.
# (Zero-width joiners stay: they are part of emoji and of some scripts.)
_INVISIBLE = r"[\u00ad\u200b\u2060\ufeff]"


def per_distinct(
    values: pd.Series, clean: Callable[[pd.Series], Any], *, dtype: Any = "string"
) -> pd.Series:
    """``clean(values)``, computed once per distinct value.

    Records repeat a few labels (or codes) over many rows; pandas' string
    methods loop in Python per element, so cleaning the distinct values and
    mapping back is what makes a reader fast on millions of rows.

    ``clean`` takes a Series of the distinct values (as objects) and returns
    one answer per value; ``dtype`` is the answers' (``"boolean"`` for a
    test, ``object`` for lists). A missing value gets a missing answer.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == len(values):
        return pd.Series(clean(values), index=values.index, dtype=dtype)
    cleaned = clean(pd.Series(uniques, dtype=object))
    if dtype is object:
        answers = np.empty(len(uniques) + 1, dtype=object)
        answers[:-1] = list(cleaned)
        answers[-1] = None
        return pd.Series(answers[codes], index=values.index, dtype=object)
    taken = pd.array(cleaned, dtype=dtype).take(codes, allow_fill=True)
    return pd.Series(taken, index=values.index, dtype=dtype)


def clean_text(values: pd.Series) -> pd.Series:
    """Text cells as tidy strings; empty cells become ``<NA>``.

    Unicode is NFKC-normalised (non-breaking spaces, full-width letters),
    invisible characters (zero-width space, soft hyphen, stray byte-order
    marks) are removed, underscores and runs of whitespace or control
    characters become one space, and the ends are stripped. Case is kept: it
    is what a label shows.
    """
    return per_distinct(values, _clean_text)


# Text already tidy: printable ASCII words, one space between, no underscore.
# NFKC changes none of it; most labels and ids are such text.
_TIDY = r"^[!-^`-~]+( [!-^`-~]+)*$"
_TIDY_CODE = r"^[!-~]+( +[!-~]+)*$"


def _skip_tidy(values: pd.Series, clean: Callable[[pd.Series], pd.Series], tidy: str) -> pd.Series:
    """``clean(values)``, calling ``clean`` only on the values not already tidy."""
    text = values.astype("string")
    done = text.str.fullmatch(tidy).fillna(False).to_numpy(dtype=bool)
    if not done.any():
        return clean(text)
    if done.all():
        return text
    result = text.copy()
    result[~done] = clean(text[~done])
    return result


def _clean_text(values: pd.Series) -> pd.Series:
    return _skip_tidy(values, _clean_text_all, _TIDY)


def _clean_text_all(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.normalize("NFKC")
    text = text.str.replace(_INVISIBLE, "", regex=True)
    text = text.str.replace(_SEPARATORS, " ", regex=True).str.strip()
    return text.mask(text == "")


def label_key(labels: pd.Series, synonyms: Mapping[str, str] | None = None) -> pd.Series:
    """The case-folded form of cleaned labels, the identity of an uncoded concept.

    ``synonyms`` maps a variant to the label it stands for; both sides are
    compared in their case-folded, cleaned form.
    """
    key = per_distinct(labels, lambda distinct: distinct.astype("string").str.casefold())
    if synonyms:
        table = {_fold(variant): _fold(canonical) for variant, canonical in synonyms.items()}
        key = key.replace(table)
    return key


def _fold(text: str) -> str:
    cleaned = clean_text(pd.Series([text]))[0]
    return str(cleaned).casefold()


def clean_codes(values: pd.Series) -> pd.Series:
    """Codes as strings, empty cells as ``<NA>``.

    Integral floats lose their ``.0``: pandas reads a code column with gaps
    as float.
    """
    if pd.api.types.is_float_dtype(values.dtype):
        finite = values.dropna()
        if np.all(np.mod(finite.to_numpy(), 1) == 0):
            values = values.astype("Int64")
    return per_distinct(values, _clean_code)


def _clean_code(values: pd.Series) -> pd.Series:
    return _skip_tidy(values, _clean_code_all, _TIDY_CODE)


def _clean_code_all(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.normalize("NFKC").str.strip()
    return text.mask(text == "")
