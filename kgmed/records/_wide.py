"""Wide tables into Records: one patient (or case) per row."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kgmed._validation import check_columns
from kgmed.errors import (
    EmptyRecordsError,
    RecordsError,
    UnknownKindError,
)
from kgmed.records._io import RowLines, some_rows
from kgmed.records._long import _ARGUMENT_OF, _About, _check_unique, _Normalizer
from kgmed.records._normalize import clean_text
from kgmed.records.core import _FALSE_CELLS, _TRUE_CELLS, Records
from kgmed.schema import normalize_kind


def _expand(
    df: pd.DataFrame,
    spec: str | Sequence[str],
    source: str,
    argument: str,
    exclude: Sequence[int] = (),
) -> list[int]:
    """Positions of the columns that ``spec`` names, in the table's order per name.

    A name that is a column is that column (every column of that name, when
    a name repeats), even when it holds glob characters
    (``"Glucose [mg/dL]"``); otherwise it is a glob pattern, which never
    matches the positions in ``exclude`` (the patient column). Columns are
    matched by their text, so a table read with ``header=None`` (columns
    ``0, 1, ...``) is addressed as ``"0"``, ``"1"``, ...
    """
    patterns = [spec] if isinstance(spec, str) else list(spec)
    names = [str(c) for c in df.columns]
    found: list[int] = []
    for pattern in patterns:
        text = str(pattern)
        matched = [i for i, name in enumerate(names) if name == text]
        if not matched:
            matched = [
                i
                for i, name in enumerate(names)
                if i not in exclude and fnmatch.fnmatchcase(name, text)
            ]
        if not matched:
            check_columns(df, {text: argument}, where=source)
        found += [i for i in matched if i not in found]
    return found


def _from_wide(
    df: pd.DataFrame,
    *,
    kinds: Mapping[str, str | Sequence[str]],
    indicators: Mapping[str, str | Sequence[str]],
    patient: str | None,
    synonyms: Mapping[str, str] | None,
    source: str,
    row_word: str,
    row_lines: RowLines | None,
    about: _About | None = None,
) -> Records:
    if not isinstance(df, pd.DataFrame):
        raise RecordsError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise EmptyRecordsError(f"{source}: the table has no rows")
    if not kinds and not indicators:
        raise RecordsError(
            f"{source}: a wide table needs kinds= (columns of labels) or "
            f"indicators= (one-hot columns), e.g. kinds={{'disease': 'Disease', "
            f"'symptom': 'Symptom_*'}}"
        )
    patient_at: list[int] = []
    if patient is not None:
        check_columns(df, {patient: "patient"}, where=source)
        _check_unique(df, [patient], source)
        patients = df[patient]
        patient_at = [list(df.columns).index(patient)]
    else:
        patients = pd.Series([f"row:{i + 1}" for i in range(len(df))], index=df.index)
    position = pd.Series(range(len(df)), index=df.index)
    about_columns = about.columns() if about is not None else {}
    if about_columns:
        check_columns(
            df,
            {column: _ARGUMENT_OF.get(key, "covariates") for key, column in about_columns.items()},
            where=source,
        )
        _check_unique(df, list(about_columns.values()), source)
        # Glob patterns of kinds= and indicators= never take these columns.
        names = list(df.columns)
        patient_at += [i for i, name in enumerate(names) if name in set(about_columns.values())]
    cells = {key: df[column] for key, column in about_columns.items()}

    # Columns are taken by position: a name may repeat (two one-hot columns
    # of one symptom), and then each of them is read.
    pieces: list[pd.DataFrame] = []
    n_read = 0
    dropped: dict[str, int] = {}
    for kind_name, spec in kinds.items():
        kind_value = _wide_kind(kind_name, "kinds", source)
        for at in _expand(df, spec, source, f"kinds[{kind_name!r}]", patient_at):
            n_read += len(df)
            pieces.append(
                pd.DataFrame(
                    {
                        "patient_id": patients,
                        "label": df.iloc[:, at],
                        "kind": kind_value,
                        "_position": position,
                        **cells,
                    }
                )
            )
    for kind_name, spec in indicators.items():
        kind_value = _wide_kind(kind_name, "indicators", source)
        for at in _expand(df, spec, source, f"indicators[{kind_name!r}]", patient_at):
            n_read += len(df)
            column = str(df.columns[at])
            present = _indicator(df.iloc[:, at], column, source, row_lines)
            absent = int((~present).sum())
            if absent:
                dropped["absent indicator"] = dropped.get("absent indicator", 0) + absent
            pieces.append(
                pd.DataFrame(
                    {
                        "patient_id": patients[present.to_numpy()],
                        "label": column,
                        "kind": kind_value,
                        "_position": position[present.to_numpy()],
                        **{key: values[present.to_numpy()] for key, values in cells.items()},
                    }
                )
            )
    if not pieces:
        raise RecordsError(
            f"{source}: kinds= and indicators= name no column; give each kind a "
            f"column name or a pattern such as 'Symptom_*'"
        )
    long = pd.concat(pieces)
    # Row order: patient by patient, columns left to right, as a reader expects.
    long = long.sort_values("_position", kind="stable")
    empty = clean_text(long["label"]).isna().to_numpy()
    if empty.any():
        dropped["empty cell"] = dropped.get("empty cell", 0) + int(empty.sum())
        long = long.loc[~empty]
    if len(long) == 0:
        raise EmptyRecordsError(f"{source}: no cell of the chosen columns holds a concept")
    records = _canonical(
        long.drop(columns="_position"),
        n_read=n_read,
        dropped=dropped,
        synonyms=synonyms,
        source=source,
        columns={"patient": patient, "concept": None, "kind": None, "time": None},
        row_word=row_word,
        row_lines=row_lines,
        names=df.index,
        positions=long["_position"].to_numpy(),
        about=about_columns,
    )
    repeated = _repeated_rows(df) if patient is None else None
    if repeated is not None:
        records.report.notes.append(repeated)
    return records


def _repeated_rows(df: pd.DataFrame) -> str | None:
    """A warning when most rows of a wide table, each its own patient, repeat another row.

    Each row of a table without a patient column counts as one patient: a
    table of cases repeated (the Kaggle disease-symptom table holds 4,920
    rows, 304 of them distinct) counts every copy as another patient, which
    inflates every count and makes every association look significant.
    """
    if len(df) < 2:
        return None
    try:
        n_distinct = len(df) - int(df.duplicated().sum())
    except TypeError:  # cells pandas cannot hash (lists): not a table read from a file
        return None
    if 2 * n_distinct > len(df):
        return None
    return (
        f"warning: {len(df):,} rows count as {len(df):,} patients, but only "
        f"{n_distinct:,} rows are distinct: each repeat counts as another patient, which "
        f"inflates every count and significance. Pass patient= if the rows are visits of "
        f"fewer patients, or drop the repeated rows if they are copies of one case"
    )


def _wide_kind(kind_name: str, argument: str, source: str) -> str:
    try:
        return normalize_kind(kind_name)
    except UnknownKindError as err:
        raise UnknownKindError(f"{source}: {argument}= key {kind_name!r}: {err}") from err


def _indicator(
    values: pd.Series, column: str, source: str, row_lines: RowLines | None
) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.fillna(False).astype(bool)
    text = values.astype("string").str.strip().str.lower()
    text = text.str.replace(r"\.0+$", "", regex=True)
    true = text.isin(_TRUE_CELLS)
    false = text.isin(_FALSE_CELLS) | text.isna() | (text == "")
    bad = ~(true | false)
    if bad.any():
        where = some_rows(values.index[bad.to_numpy()], "row", row_lines)
        example = str(values[bad.to_numpy()].iloc[0])
        raise RecordsError(
            f"{source}: indicator column {column!r} holds {example!r} at {where}; "
            f"indicator cells must be 1/0, true/false or yes/no"
        )
    return true.fillna(False).astype(bool)


def _canonical(
    long: pd.DataFrame,
    *,
    n_read: int,
    dropped: dict[str, int],
    synonyms: Mapping[str, str] | None,
    source: str,
    columns: Mapping[str, str | None],
    row_word: str,
    row_lines: RowLines | None,
    names: pd.Index,
    positions: np.ndarray,
    about: Mapping[str, str] | None = None,
) -> Records:
    """Normalize one long table of raw cells into canonical Records."""
    normalizer = _Normalizer(
        synonyms=synonyms,
        source=source,
        columns=columns,
        row_word=row_word,
        row_lines=row_lines,
        names=names,
        about=about,
    )
    normalizer.add({name: long[name] for name in long.columns}, positions)
    return normalizer.records(n_read=n_read, dropped=dropped)
