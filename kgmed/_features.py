"""Patients as rows of features, shared by cohorts and risk models.

Concepts are the sparse binary patient × concept matrix of
:func:`kgmed.transactions`; numeric features (measurements the readers
keep, or a table the user brings: age, sex, BMI) sit beside it. Both are
checked here once, so that :func:`kgmed.cohorts.find` and
:func:`kgmed.models.risk` refuse the same bad input with the same words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

from kgmed._validation import check_choice
from kgmed.errors import (
    ConceptNotFound,
    EmptyRecordsError,
    MissingValueError,
    ParameterError,
)
from kgmed.matching import TermMatcher, closest
from kgmed.records import Records
from kgmed.records._normalize import clean_text
from kgmed.schema import KINDS

__all__ = [
    "MISSING",
    "ConceptMatrix",
    "NumericFeatures",
    "check_kinds",
    "check_options",
    "check_records",
    "check_seed",
    "concept_matrix",
    "csr32",
    "floor_count",
    "fold",
    "numeric_features",
    "resolve_term",
]

#: What to do with a numeric feature a patient has no value for.
MISSING: tuple[str, ...] = ("error", "median")

_SEMANTIC_TAG = r"\s*\([a-z][a-z /-]*\)$"


def check_records(records: object, where: str) -> Records:
    """``records`` as Records with at least one observation, or a clear error."""
    if not isinstance(records, Records):
        raise ParameterError(
            f"{where} takes Records (kgmed.read_records, kgmed.read_synthea, "
            f"Records.from_dataframe...), got {type(records).__name__}"
        )
    if len(records.data) == 0:
        raise EmptyRecordsError(f"{where}: the records hold no observation")
    return records


def check_seed(random_state: object) -> int | None:
    """``random_state`` as an int (or None), or ParameterError."""
    if random_state is None:
        return None
    if isinstance(random_state, bool) or not isinstance(random_state, Integral):
        raise ParameterError(f"random_state must be an integer or None, got {random_state!r}")
    if not 0 <= int(random_state) < 2**32:
        raise ParameterError(f"random_state must be in [0, 2**32), got {random_state!r}")
    return int(random_state)


def check_kinds(kinds: object) -> tuple[str, ...] | None:
    """``kinds`` as a tuple of node kinds, or None for all."""
    if kinds is None:
        return None
    if isinstance(kinds, str):
        kinds = (kinds,)
    if not isinstance(kinds, Sequence) or not kinds:
        raise ParameterError(f"kinds must be a non-empty list of kinds from {list(KINDS)}")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ParameterError(f"kinds: {unknown} are not kinds; kinds are {list(KINDS)}")
    return tuple(dict.fromkeys(str(k) for k in kinds))


def fold(values: pd.Series) -> pd.Series:
    """Labels as look-up keys: cleaned, case-folded, SNOMED semantic tag dropped."""
    cleaned = clean_text(values.astype("string")).fillna("").str.casefold()
    return cleaned.str.replace(_SEMANTIC_TAG, "", regex=True)


def csr32(matrix: Any) -> sparse.csr_matrix:
    """A float64 CSR matrix with int32 indices, the sparse input scikit-learn accepts."""
    m = sparse.csr_matrix(matrix, dtype=np.float64)
    m.sum_duplicates()
    return sparse.csr_matrix(
        (m.data, m.indices.astype(np.int32), m.indptr.astype(np.int32)), shape=m.shape
    )


@dataclass(frozen=True)
class ConceptMatrix:
    """A binary patient × concept matrix: which patient has which concept.

    ``patients`` are every patient of the records (a patient with none of
    the chosen kinds is a row of zeros); ``concepts`` the column ids.
    """

    matrix: sparse.csr_matrix
    patients: pd.Index
    concepts: pd.Index
    info: pd.DataFrame  # one row per concept: label, kind (index: concept id)


def concept_matrix(
    records: Records,
    *,
    kinds: tuple[str, ...] | None = None,
    concepts: pd.Index | None = None,
) -> ConceptMatrix:
    """The patients of ``records`` × their concepts (of ``kinds``), as 0/1 floats.

    With ``concepts`` (the columns of an earlier matrix), the columns are
    those, in that order; concepts the records name beyond them are left
    out. Built from integer codes, without a Python loop per patient.
    """
    data = records.data
    rows, patients = pd.factorize(data["patient_id"].astype("string"))
    keep = np.ones(len(data), dtype=bool)
    if kinds is not None:
        keep &= data["kind"].isin(kinds).to_numpy(dtype=bool, na_value=False)
    ids = data["concept_id"].astype("string")
    if concepts is None:
        cols, columns = pd.factorize(ids[keep], sort=True)
        columns = pd.Index(columns.astype(str))
        rows = rows[keep]
    else:
        columns = pd.Index(concepts)
        found = columns.get_indexer(ids)
        keep &= found >= 0
        cols, rows = found[keep], rows[keep]
    shape = (len(patients), len(columns))
    matrix = sparse.csr_matrix(
        (np.ones(len(rows)), (rows.astype(np.int64), np.asarray(cols, dtype=np.int64))),
        shape=shape,
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    first = data.loc[keep, ["concept_id", "label", "kind"]].drop_duplicates("concept_id")
    info = first.astype({"concept_id": str}).set_index("concept_id").reindex(columns)
    return ConceptMatrix(csr32(matrix), pd.Index(patients.astype(str)), columns, info)


@dataclass(frozen=True)
class NumericFeatures:
    """Numeric features of patients, and how to make them again for new patients.

    ``values`` is patients × features (NaN filled as ``missing`` says);
    ``spec`` is the list of measurement concept ids they were read from, or
    None when the user gave a table; ``medians`` fill a missing value when
    ``missing="median"``.
    """

    values: npt.NDArray[np.float64]
    names: list[str]
    spec: list[str] | None
    medians: npt.NDArray[np.float64]
    missing: str


def numeric_features(
    records: Records,
    features: object,
    patients: pd.Index,
    *,
    missing: str = "error",
    fitted: NumericFeatures | None = None,
    where: str = "features",
) -> NumericFeatures | None:
    """Numeric features of ``patients`` from a table or from measurements.

    ``features`` is None (no numeric feature), a DataFrame with one row per
    patient (indexed by patient id, or with a ``patient_id`` column) of
    numbers or booleans, or a list of measurements (concept ids, LOINC
    codes or labels) whose last value per patient
    ``Records.measurements`` holds. ``fitted``: the features an earlier
    call made, to make the same columns (and fill with the same medians).
    """
    missing = check_choice("missing", missing, MISSING)
    if features is None:
        if fitted is not None and fitted.spec is None:
            raise ParameterError(
                f"{where}: these were found with a table of numeric features "
                f"({', '.join(fitted.names)}); pass features= with the same columns"
            )
        if fitted is None:
            return None
        features = fitted.spec
    if isinstance(features, pd.DataFrame):
        table, spec = _from_table(features, patients, where), None
    elif isinstance(features, Sequence) and not isinstance(features, str) and len(features):
        table, spec = _from_measurements(records, [str(f) for f in features], patients, where)
    else:
        raise ParameterError(
            f"{where} must be a DataFrame with one row per patient (age, sex, BMI...) or a "
            f"list of measurements such as ['LOINC:39156-5'], got {features!r}"
        )
    if fitted is not None:
        absent = [name for name in fitted.names if name not in table.columns]
        if absent:
            raise ParameterError(
                f"{where}: the features {absent} are needed (they were used to fit); "
                f"the table given has {list(table.columns)}"
            )
        table = table[fitted.names]
        missing = fitted.missing
    values = table.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        column = table.columns[np.isinf(values).any(axis=0)][0]
        raise ParameterError(f"{where}: {column!r} holds an infinite value")
    medians = fitted.medians if fitted is not None else _medians(values, table.columns, where)
    gaps = np.isnan(values)
    if gaps.any():
        if missing == "error":
            counts = gaps.sum(axis=0)
            named = [
                f"{name!r} for {int(n):,} of {len(values):,} patients"
                for name, n in zip(table.columns, counts, strict=True)
                if n
            ]
            raise MissingValueError(
                f"{where}: missing values ({'; '.join(named[:5])}"
                f"{' and more' if len(named) > 5 else ''}); fill them, leave those "
                f"patients out, or pass missing='median' to fill each with its median"
            )
        values = np.where(gaps, medians[None, :], values)
    return NumericFeatures(values, [str(c) for c in table.columns], spec, medians, missing)


def _medians(
    values: npt.NDArray[np.float64], names: pd.Index, where: str
) -> npt.NDArray[np.float64]:
    empty = np.isnan(values).all(axis=0)
    if empty.any():
        name = names[int(np.argmax(empty))]
        raise MissingValueError(f"{where}: {name!r} has no value for any patient")
    return np.nanmedian(values, axis=0)


def _from_table(table: pd.DataFrame, patients: pd.Index, where: str) -> pd.DataFrame:
    frame = table.set_index("patient_id") if "patient_id" in table.columns else table
    if frame.shape[1] == 0:
        raise ParameterError(f"{where}: the table has no column of values")
    index = pd.Index(frame.index.astype(str))
    if index.has_duplicates:
        raise ParameterError(
            f"{where}: patient {index[index.duplicated()][0]!r} has more than one row; "
            f"give one row per patient"
        )
    for column in frame.columns:
        dtype = frame[column].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise ParameterError(
                f"{where}: column {column!r} holds {dtype} values, not numbers; encode it "
                f"as numbers first (sex as 0/1, a category as one 0/1 column per value)"
            )
    frame = frame.set_axis(index).astype("float64")
    frame.columns = [str(c) for c in frame.columns]
    unknown = patients.difference(index)
    if len(unknown) == len(patients):
        raise ParameterError(
            f"{where}: no row of the table is a patient of the records (the index, or "
            f"a 'patient_id' column, holds the patient ids: such as {patients[0]!r})"
        )
    return frame.reindex(patients)


def _from_measurements(
    records: Records, names: list[str], patients: pd.Index, where: str
) -> tuple[pd.DataFrame, list[str]]:
    measurements = records.measurements
    if measurements is None or len(measurements) == 0:
        raise ParameterError(
            f"{where}: these records hold no measurements (read_synthea, read_fhir and "
            f"read_omop keep them); pass a DataFrame of values instead"
        )
    ids = measurements["concept_id"].astype("string")
    catalogue = pd.DataFrame({"id": ids, "label": measurements["label"].astype("string")})
    catalogue = catalogue.drop_duplicates("id").reset_index(drop=True)
    keys = fold(catalogue["label"])
    codes = catalogue["id"].str.split(":", n=1).str[-1]
    chosen: list[str] = []
    for name in names:
        text = name.strip()
        hit = catalogue.loc[
            (catalogue["id"] == text) | (codes == text) | (keys == fold(pd.Series([text])).iloc[0]),
            "id",
        ].unique()
        if len(hit) != 1:
            labels = sorted(set(catalogue["label"].dropna()))
            close = closest(text, labels, n=5, cutoff=0.5)
            what = "names several measurements" if len(hit) > 1 else "names no measurement"
            raise ConceptNotFound(
                f"{where}: {name!r} {what} of these records; closest: {close}. Name one by "
                f"concept id (LOINC:39156-5), code or label",
                term=name,
                suggestions=tuple(close),
            )
        chosen.append(str(hit[0]))
    values = measurements.loc[ids.isin(chosen).to_numpy(dtype=bool, na_value=False)]
    value = pd.to_numeric(values["value"], errors="coerce").astype("float64")
    if "canonical_value" in values.columns:
        # Values in other units than their range's (glucose in mmol/L and in
        # mg/dL) are compared in the one unit the reader converted them to.
        value = values["canonical_value"].astype("float64").fillna(value)
    values = values.assign(patient_id=values["patient_id"].astype(str), value=value)
    values = values.dropna(subset=["value"])
    values = values.sort_values("time", kind="stable", na_position="first")
    last = values.groupby(["patient_id", "concept_id"], observed=True)["value"].last()
    table = last.unstack("concept_id").reindex(index=patients, columns=chosen)
    label_of = dict(zip(catalogue["id"], catalogue["label"], strict=True))
    table.columns = [str(label_of.get(c) or c) for c in chosen]
    return table.astype("float64"), chosen


def resolve_term(concepts: pd.DataFrame, term: object, *, where: str, loose: bool = True) -> str:
    """The concept id a term names among ``concepts`` (columns ``concept_id``, ``label``).

    A concept id, a code or a label (any case and spacing, SNOMED semantic
    tag optional) names one concept; else a term that is a whole word of
    exactly one label does (``"diabetes"`` for ``"type 2 diabetes
    mellitus"``), unless ``loose`` is False. Anything else raises
    ConceptNotFound naming the closest labels or the concepts it could mean.
    """
    if not isinstance(term, str) or not term.strip():
        raise ParameterError(f"{where} must name a concept, got {term!r}")
    text = term.strip()
    ids = concepts["concept_id"].astype(str)
    codes = ids.str.split(":", n=1).str[-1]
    keys = fold(concepts["label"]).reset_index(drop=True)
    key = fold(pd.Series([text])).iloc[0]
    table = pd.DataFrame(
        {"id": ids.to_numpy(), "label": concepts["label"].to_numpy(), "code": codes.to_numpy()}
    )
    found = TermMatcher(table).find(text)
    if len(found) == 1:
        return found[0]
    if not loose:
        raise ConceptNotFound(f"{where}: no concept is exactly {term!r}", term=term)
    pattern = r"(?:^|[^\w])" + re.escape(key) + r"(?:$|[^\w])"
    within = keys.str.contains(pattern, regex=True).to_numpy(dtype=bool, na_value=False)
    if within.sum() == 1:
        return str(ids[within].iloc[0])
    if within.sum() > 1:
        labels = sorted(str(x) for x in concepts.loc[within, "label"])
        raise ConceptNotFound(
            f"{where}: {term!r} could mean {len(labels)} concepts: {labels[:8]}"
            f"{' and more' if len(labels) > 8 else ''}; pass one of these labels or a concept id",
            term=term,
            suggestions=tuple(labels[:8]),
        )
    close = _closest(text, sorted(set(concepts["label"].astype(str))))
    hint = f"; closest labels: {list(close)}" if close else "; no label is close"
    raise ConceptNotFound(
        f"{where}: no concept {term!r} in the records{hint}", term=term, suggestions=close
    )


def _closest(text: str, labels: list[str], n: int = 5) -> tuple[str, ...]:
    """Labels close to ``text`` as a whole, then labels with a word close to it."""
    close = closest(text, labels, n=n, cutoff=0.6)
    if len(close) < n:
        words: dict[str, list[str]] = {}
        for label in labels:
            for word in re.findall(r"\w+", label.casefold()):
                words.setdefault(word, []).append(label)
        for word in closest(text, list(words), n=len(words), cutoff=0.8):
            close += [label for label in words[word] if label not in close]
    return tuple(close[:n])


def floor_count(value: float, floor: int) -> float:
    """A count, or NaN when it is above zero and under the privacy floor."""
    return math.nan if 0 < value < floor else value


def check_options(options: object) -> dict[str, Any]:
    """Extra keyword arguments for a scikit-learn estimator, as a dict."""
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise ParameterError(
            f"options must be a dict of scikit-learn parameters, got {type(options).__name__}"
        )
    return dict(options)
