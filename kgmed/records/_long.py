"""Long tables into Records: one observation per row, normalised on integer codes."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kgmed._validation import check_columns
from kgmed.errors import (
    EmptyRecordsError,
    MissingValueError,
    ParameterError,
    RecordsError,
    UnknownKindError,
)
from kgmed.records._codes import (
    _categories,
    _compact,
    _Distinct,
    _encode,
    _kind_categories,
    _missing_categories,
    _strings,
)
from kgmed.records._dates import _NAT, _Times, _times_series
from kgmed.records._io import RowLines, some_rows
from kgmed.records._normalize import clean_codes, clean_text, label_key
from kgmed.records._patients import (
    PATIENT_COLUMNS,
    _completed_years,
    _patients_note,
    _read_sexes,
)
from kgmed.records.core import _CURIE, BASKETS, COLUMNS, Records, RecordsReport
from kgmed.schema import KINDS, normalize_kind, normalize_system


@dataclass(frozen=True)
class _About:
    """The columns that say who the patients are, by the part each plays."""

    age: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    covariates: tuple[str, ...] = ()

    @classmethod
    def named(
        cls,
        *,
        age: str | None = None,
        birth_date: str | None = None,
        sex: str | None = None,
        covariates: Sequence[str] | str = (),
        time: str | None = None,
    ) -> _About:
        """The columns given, checked before anything is read."""
        if isinstance(covariates, str):
            covariates = [covariates]
        named = tuple(dict.fromkeys(covariates))
        if age is not None and birth_date is not None:
            raise ParameterError(
                f"age={age!r} and birth_date={birth_date!r}: give a patient's age by one of "
                f"them, not both"
            )
        if birth_date is not None and time is None:
            raise RecordsError(
                f"birth_date={birth_date!r} gives the age at a patient's last observation, "
                f"which needs the times of the observations: pass time=<column>, or "
                f"age=<column of ages>"
            )
        taken = [c for c in named if str(c) in PATIENT_COLUMNS]
        if taken:
            raise RecordsError(
                f"covariates= names {taken}, which Records.patients makes itself; rename "
                f"{'that column' if len(taken) == 1 else 'those columns'}"
            )
        return cls(age=age, birth_date=birth_date, sex=sex, covariates=named)

    def columns(self) -> dict[str, str]:
        """The cells read (``patient:age``...) and the column each is read from."""
        found = {
            f"patient:{part}": column
            for part, column in (
                ("age", self.age),
                ("birth_date", self.birth_date),
                ("sex", self.sex),
            )
            if column is not None
        }
        found.update({f"patient:covariate:{name}": name for name in self.covariates})
        return found


_ARGUMENT_OF = {"patient:age": "age", "patient:birth_date": "birth_date", "patient:sex": "sex"}


def _resolve_kind(
    df: pd.DataFrame, kind: str, source: str, taken: Sequence[str]
) -> pd.Series | str:
    """A column of kinds, or one kind for all rows when ``kind`` names a kind.

    A column already read as the patients or the concepts (``taken``) is not
    also the kinds: ``concept="symptom", kind="symptom"`` means every row is
    a symptom.
    """
    if kind in df.columns and kind not in taken:
        return df[kind]
    try:
        return normalize_kind(kind)
    except UnknownKindError:
        pass
    check_columns(df, {kind: "kind"}, where=source)
    return df[kind]


def _check_unique(df: pd.DataFrame, columns: Sequence[Any], source: str) -> None:
    """Raise if a column the reader uses appears more than once in ``df``."""
    repeated = df.columns[df.columns.duplicated()]
    for column in columns:
        if column in repeated:
            n = int((df.columns == column).sum())
            raise RecordsError(
                f"{source}: column {column!r} appears {n} times; give each column "
                f"its own name before reading"
            )


def _from_long(
    df: pd.DataFrame,
    *,
    patient: str,
    concept: str,
    kind: str,
    code: str | None,
    system: str | None,
    encounter: str | None,
    time: str | None,
    synonyms: Mapping[str, str] | None,
    source: str,
    row_word: str,
    row_lines: RowLines | None,
    reason: str | None = None,
    keep: Sequence[str] = (),
    basket: str = "patient",
    rest: Iterable[pd.DataFrame] = (),
    about: _About | None = None,
) -> Records:
    """Records from a long table; ``rest`` holds further parts of it.

    A file read in chunks gives its first chunk as ``df`` and the others as
    ``rest``, each with the same columns; rows are then named by their
    position in the file (``row_lines``). Each part is normalized on its own
    into integer codes (see :class:`_Normalizer`), and the result is the same
    as for the whole table at once.
    """
    if not isinstance(df, pd.DataFrame):
        raise RecordsError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise EmptyRecordsError(f"{source}: the table has no rows")
    if basket not in BASKETS:
        raise ParameterError(f"basket must be one of {list(BASKETS)}, got {basket!r}")
    if basket == "encounter" and encounter is None:
        raise RecordsError(
            f"{source}: basket='encounter' counts co-occurrence per encounter; "
            f"pass encounter=<column of encounter ids>"
        )
    if isinstance(keep, str):
        keep = [keep]
    clash = sorted(set(keep).intersection(COLUMNS))
    if clash:
        raise RecordsError(
            f"{source}: keep= names {clash}, which Records makes itself; rename those columns"
        )
    required: dict[str, str | None] = {patient: "patient", concept: "concept"}
    for column, argument in (
        (code, "code"),
        (encounter, "encounter"),
        (time, "time"),
        (reason, "reason"),
    ):
        if column is not None:
            required[column] = argument
    required.update(dict.fromkeys(keep, "keep"))
    about_columns = about.columns() if about is not None else {}
    for key, column in about_columns.items():
        required.setdefault(column, _ARGUMENT_OF.get(key, "covariates"))
    check_columns(df, required, where=source)
    kinds = _resolve_kind(df, kind, source, taken=(patient, concept))
    systems: str | None = None
    if system is not None and system not in df.columns:
        try:
            systems = normalize_system(system)
        except RecordsError as err:
            raise RecordsError(
                f"{source}: system={system!r} is not a column, and as the coding "
                f"system of every row: {err}"
            ) from err
    used = [*required, *(c for c in (kind, system) if c is not None and c in df.columns)]
    _check_unique(df, used, source)
    if code is not None and system is None:
        raise RecordsError(
            f"{source}: codes in column {code!r} need a coding system; pass "
            f"system=<column> or system=<name> such as 'ICD10CM' or 'SNOMEDCT'"
        )

    columns = {
        "patient": patient,
        "concept": concept,
        "kind": kind,
        "system": system,
        "time": time,
        "reason": reason,
    }
    # A part's rows are named by their position in the whole table: by the
    # file's lines, or by the DataFrame's index labels.
    names = df.index if row_lines is None else None
    normalizer = _Normalizer(
        synonyms=synonyms,
        source=source,
        columns=columns,
        row_word=row_word,
        row_lines=row_lines,
        names=names,
        keep=keep,
        basket=basket,
        about=about_columns,
    )
    n_read = 0
    n_blank = 0
    for part in itertools.chain([df], rest):
        positions: np.ndarray | range = range(n_read, n_read + len(part))
        n_read += len(part)
        # Blank rows (every cell empty) are what a CSV with stray empty lines gives.
        blank = _blank_rows(part)
        if blank.any():
            n_blank += int(blank.sum())
            part = part.loc[~blank]
            positions = np.asarray(positions)[~blank]
        cells: dict[str, pd.Series | str | None] = {
            "patient_id": part[patient],
            "label": part[concept],
            "kind": kinds if isinstance(kinds, str) else part[kind],
            "system": systems if systems is not None or system is None else part[system],
            "code": part[code] if code is not None else None,
            "encounter_id": part[encounter] if encounter is not None else None,
            "time": part[time] if time is not None else None,
            "reason_id": part[reason] if reason is not None else None,
            **{f"keep:{name}": part[name] for name in keep},
            **{key: part[column] for key, column in about_columns.items()},
        }
        normalizer.add(cells, positions)
    dropped = {"blank row": n_blank} if n_blank else {}
    return normalizer.records(n_read=n_read, dropped=dropped)


def _blank_rows(df: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is empty (missing, or blank once cleaned)."""
    blank = np.ones(len(df), dtype=bool)
    for i in range(df.shape[1]):
        if not blank.any():
            break
        column = df.iloc[:, i]
        if blank.all():
            blank = _empty_cells(column)
        else:
            blank[blank] = _empty_cells(column[blank])
    return blank


def _empty_cells(values: pd.Series) -> np.ndarray:
    """``clean_codes(values).isna()``, tested once per distinct value.

    Text with an ASCII letter or digit is never empty; only other values
    are cleaned to tell.
    """
    local, uniques = pd.factorize(values, use_na_sentinel=True)
    empty = np.zeros(len(uniques) + 1, dtype=bool)
    empty[-1] = True
    distinct = pd.Series(uniques, dtype=object if not _is_text(uniques) else "string")
    if _is_text(uniques):
        sure = distinct.str.contains(_ALNUM.pattern, regex=True).fillna(False).to_numpy(bool)
    else:
        search = _ALNUM.search
        sure = np.array([isinstance(v, str) and bool(search(v)) for v in distinct], dtype=bool)
    unsure = np.flatnonzero(~sure)
    if len(unsure):
        empty[unsure] = clean_codes(pd.Series(distinct.to_numpy(object)[unsure])).isna().to_numpy()
    return empty[local]


def _is_text(values: Any) -> bool:
    """Whether ``values`` are strings all (a string or categorical-of-strings array)."""
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return isinstance(dtype, pd.StringDtype)


_ALNUM = re.compile(r"[0-9A-Za-z]")


#: Cell columns of the long table a :class:`_Normalizer` reads, each coded
#: into a table of its distinct cleaned values, and how each is cleaned. A
#: row's spelling (its label, or its code when it has none) is coded into
#: one more table.
_CODED = ("patient_id", "label", "code", "system", "kind", "encounter_id", "reason_id")
_CLEAN: dict[str, Callable[[pd.Series], pd.Series]] = {
    "patient_id": clean_codes,
    "label": clean_text,
    "code": clean_codes,
    "system": clean_codes,
    "kind": clean_text,
    "encounter_id": clean_codes,
    "reason_id": clean_codes,
}


class _Normalizer:
    """Normalizes a long table of raw cells into Records, one part at a time.

    Each part (the whole table, or one chunk of a file) is cleaned on its own
    and kept only as integer codes per row into small tables of the distinct
    values met so far (patients, spellings, codes, systems, kinds,
    encounters, reasons) and times as int64, so that a file is read in memory
    about the size of its Records plus one chunk. What needs the whole table
    is done once, by :meth:`records`, on those codes: every check that
    raises (in the order a reader of the whole table meets them, naming rows
    of any part), adopting codes, display labels, one kind per concept and
    duplicates.
    """

    def __init__(
        self,
        *,
        synonyms: Mapping[str, str] | None,
        source: str,
        columns: Mapping[str, str | None],
        row_word: str,
        row_lines: RowLines | None,
        names: pd.Index | None,
        keep: Sequence[str] = (),
        basket: str = "patient",
        about: Mapping[str, str] | None = None,
    ) -> None:
        self.synonyms = synonyms
        self.source = source
        self.columns = columns
        self.row_word = row_word
        self.row_lines = row_lines
        self.names = names
        self.keep = list(keep)
        self.basket = basket
        self.tables = {name: _Distinct() for name in _CODED}
        # A row's spelling is its cleaned label or, without one, its code:
        # a table of both, and where each label sits in it.
        self.spellings = _Distinct()
        self.label_spelling = np.zeros(0, dtype=np.int64)
        self.codes: dict[str, list[np.ndarray | None]] = {name: [] for name in _CODED}
        self.kept: dict[str, list[pd.Series]] = {name: [] for name in self.keep}
        # Who the patients are: each cell read (patient:age...), its column, its parts.
        self.about = dict(about or {})
        self.about_parts: dict[str, list[pd.Series]] = {key: [] for key in self.about}
        self.positions: list[np.ndarray | range] = []
        self.times = _Times(source, columns.get("time")) if columns.get("time") else None
        self.n_rows = 0
        self.n_kept = 0
        self.n_empty = 0

    # -- one part ------------------------------------------------------------------

    def add(
        self, cells: Mapping[str, pd.Series | str | None], positions: np.ndarray | range
    ) -> None:
        """Normalize one part: ``cells`` by column (a string is one value for every row)."""
        label = cells["label"]
        n = len(positions)
        self.n_rows += n
        if n == 0:
            return
        assert isinstance(label, pd.Series)
        spelling = self._spellings(_encode(label, clean_text, self.tables["label"], n))
        code = self._encode(cells, "code", n)
        # A row without a concept is no observation: it is counted and dropped
        # before any other cell of it is read.
        has_concept = spelling >= 0
        if code is not None:
            has_concept |= code >= 0
        if not has_concept.all():
            self.n_empty += int((~has_concept).sum())
            cells = {
                name: values[has_concept] if isinstance(values, pd.Series) else values
                for name, values in cells.items()
            }
            spelling = spelling[has_concept]
            code = code[has_concept] if code is not None else None
            positions = np.asarray(positions)[has_concept]
            n = len(positions)
            if n == 0:
                return
        if code is not None:
            # A row without a label is named by its code.
            bare = (spelling < 0) & (code >= 0)
            if bare.any():
                used = pd.unique(code[bare])
                texts = [self.tables["code"].values[i] for i in used]
                lookup = np.full(len(self.tables["code"]), -1, dtype=np.int64)
                lookup[used] = self.spellings.codes_of(texts)
                spelling = np.where(bare, lookup[code], spelling)
                spelling = _compact(spelling, len(self.spellings))
        self.codes["label"].append(spelling)
        self.codes["code"].append(code)
        for name in ("patient_id", "kind", "system", "encounter_id", "reason_id"):
            self.codes[name].append(self._encode(cells, name, n))
        if self.times is not None:
            times = cells["time"]
            assert isinstance(times, pd.Series)
            self.times.add(times, offset=self.n_kept)
        for name in self.keep:
            values = cells[f"keep:{name}"]
            assert isinstance(values, pd.Series)
            self.kept[name].append(values)
        for key in self.about:
            values = cells[key]
            assert isinstance(values, pd.Series)
            self.about_parts[key].append(values)
        self.positions.append(positions)
        self.n_kept += n

    def _spellings(self, labels: np.ndarray) -> np.ndarray:
        """Label codes (-1 for none) as codes into the table of spellings."""
        table = self.tables["label"].values
        known = len(self.label_spelling)
        if len(table) > known:
            added = self.spellings.codes_of(table[known:])
            self.label_spelling = np.concatenate([self.label_spelling, added])
        lookup = np.append(self.label_spelling, -1)
        return _compact(lookup[labels], len(self.spellings))

    def _encode(
        self, cells: Mapping[str, pd.Series | str | None], name: str, n: int
    ) -> np.ndarray | None:
        values = cells.get(name)
        if values is None:
            return None
        return _encode(values, _CLEAN[name], self.tables[name], n)

    # -- the whole table -----------------------------------------------------------

    def _joined(self, name: str) -> np.ndarray | None:
        """The codes of column ``name`` over every part; None if no part has the column.

        The parts are handed over (and freed once joined): call once per column.
        """
        parts = self.codes.pop(name)
        if all(part is None for part in parts):
            return None
        arrays = [
            np.full(n, -1, dtype=np.int32) if part is None else part
            for part, n in zip(parts, (len(p) for p in self.positions), strict=True)
        ]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    def _names(self, mask: np.ndarray) -> pd.Index:
        """The row labels (or, for a file, positions) of the kept rows in ``mask``."""
        positions = np.concatenate(
            [
                np.arange(part.start, part.stop) if isinstance(part, range) else part
                for part in self.positions
            ]
        )[mask]
        return pd.Index(positions) if self.names is None else self.names[positions]

    def rows(self, mask: np.ndarray) -> str:
        """The rows in ``mask`` (over the kept rows) named for a message."""
        # A wide row gives several observations: name each row once.
        return some_rows(self._names(mask).unique(), self.row_word, self.row_lines)

    def records(self, *, n_read: int, dropped: Mapping[str, int]) -> Records:
        """The Records of every part added, or the error a reader of the whole table raises."""
        source, columns = self.source, self.columns
        if self.n_rows == 0:
            raise EmptyRecordsError(f"{source}: the table has no rows with data")
        if self.n_kept == 0:
            raise EmptyRecordsError(
                f"{source}: no row holds a concept (column {columns['concept']!r} is empty "
                f"throughout)"
            )
        dropped = dict(dropped)
        if self.n_empty:
            dropped["empty concept"] = dropped.get("empty concept", 0) + self.n_empty

        patient = self._joined("patient_id")
        assert patient is not None
        missing = patient < 0
        if missing.any():
            n_rows = self._names(missing).nunique()
            raise MissingValueError(
                f"{source}: column {columns['patient']!r} is empty in {n_rows} "
                f"row(s) ({self.rows(missing)}); every observation needs a patient id. "
                f"Fill or drop those rows."
            )
        kind, kind_names = self._kinds()
        system, system_names = self._systems()
        concept, concept_ids, sys_row, sys_names, code_row, code_names, label, labels = (
            self._concepts(system, system_names)
        )
        times, unit = (
            (None, "ns") if self.times is None else self.times.values(self.rows, self.n_kept)
        )
        reason = self._reasons()
        patients = self._patients(patient, times, unit) if self.about else None

        # One label per concept: its most frequent spelling (ties: first seen).
        display, n_variants = _display_labels(concept, len(concept_ids), label, len(labels))
        del label
        kind_of_cell, kinds = pd.factorize(pd.Series(kind_names, dtype=object))
        kind = _compact(kind_of_cell[kind], len(kinds))
        # One kind per concept: checked on the distinct (concept, kind) pairs, first seen first.
        pairs = pd.unique(concept.astype(np.int64) * len(kinds) + kind)
        pair_kinds = np.asarray(kinds, dtype=object)[pairs % len(kinds)]
        pair_concepts = np.asarray(concept_ids, dtype=object)[pairs // len(kinds)]
        _check_one_kind(pd.DataFrame({"concept_id": pair_concepts, "kind": pair_kinds}), source)

        encounter = self._joined("encounter_id")
        duplicate = _duplicated_codes(
            [
                (patient, len(self.tables["patient_id"])),
                (concept, len(concept_ids)),
                (encounter, len(self.tables["encounter_id"])),
                (times, None),
            ]
        )
        if duplicate.any():
            dropped["duplicate"] = dropped.get("duplicate", 0) + int(duplicate.sum())
            kept = np.flatnonzero(~duplicate)
            patient, concept, kind = patient[kept], concept[kept], kind[kept]
            sys_row = sys_row[kept] if sys_row is not None else None
            code_row = code_row[kept] if code_row is not None else None
            encounter = encounter[kept] if encounter is not None else None
            times = times[kept] if times is not None else None
            reason = reason[kept] if reason is not None else None
        else:
            kept = None
        n = len(patient)
        data = pd.DataFrame(
            {
                "patient_id": _categories(self.tables["patient_id"].values, patient),
                "concept_id": _categories(concept_ids, concept),
                "label": _categories(labels, display[concept], unique=False),
                "kind": _kind_categories(list(kinds), kind),
                "system": (
                    _missing_categories(n)
                    if sys_row is None
                    else _categories(sys_names, sys_row, unique=False)
                ),
                "code": (
                    _missing_categories(n)
                    if code_row is None
                    else _categories(code_names, code_row, unique=False)
                ),
                "encounter_id": (
                    _missing_categories(n)
                    if encounter is None
                    else _categories(self.tables["encounter_id"].values, encounter)
                ),
                "time": _times_series(times, unit, n),
                "reason_id": (
                    _missing_categories(n)
                    if reason is None
                    else _categories(self.tables["reason_id"].values, reason)
                ),
                **{name: self._kept(name, kept) for name in self.keep},
            }
        )
        present = np.zeros(len(concept_ids), dtype=bool)
        present[concept] = True
        kind_of = np.zeros(len(concept_ids), dtype=np.int64)
        kind_of[concept] = kind
        by_kind = pd.Series(np.asarray(kinds, dtype=object)[kind_of[present]]).value_counts()
        report = RecordsReport(
            source=source,
            n_read=n_read,
            n_kept=n,
            dropped=dropped,
            n_patients=int(np.count_nonzero(np.bincount(patient))),
            n_concepts=int(present.sum()),
            n_label_variants=n_variants,
            concepts_by_kind={k: int(by_kind[k]) for k in KINDS if k in by_kind.index},
        )
        result = Records(data, report, basket=self.basket, extra=self.keep, patients=patients)
        report.notes += _patients_note(result.patients)
        return result

    def _kinds(self) -> tuple[np.ndarray, list[str]]:
        """Each kept row's kind code, and the kind each distinct cell names."""
        kind = self._joined("kind")
        assert kind is not None
        column = self.columns["kind"]
        missing = kind < 0
        if missing.any():
            raise MissingValueError(
                f"{self.source}: column {column!r} (kind) is empty in {int(missing.sum())} "
                f"row(s) ({self.rows(missing)}); every observation needs a kind, one of "
                f"{list(KINDS)}"
            )
        names: list[str] = []
        for i, value in enumerate(self.tables["kind"].values):
            try:
                names.append(normalize_kind(str(value)))
            except UnknownKindError as err:
                raise UnknownKindError(
                    f"{self.source}: column {column!r}: {err} (at {self.rows(kind == i)})"
                ) from err
        return kind, names

    def _systems(self) -> tuple[np.ndarray | None, list[str]]:
        """Each kept row's system code, and the concept-id prefix of each distinct system."""
        system = self._joined("system")
        names: list[str] = []
        for i, value in enumerate(self.tables["system"].values):
            try:
                names.append(normalize_system(str(value)))
            except RecordsError as err:
                assert system is not None
                raise RecordsError(
                    f"{self.source}: column {self.columns.get('system')!r}: {err} "
                    f"(at {self.rows(system == i)})"
                ) from err
        return system, names

    def _concepts(
        self, system: np.ndarray | None, system_names: list[str]
    ) -> tuple[
        np.ndarray,
        list[str],
        np.ndarray | None,
        list[str],
        np.ndarray | None,
        list[str],
        np.ndarray,
        list[str],
    ]:
        """Concept ids: ``SYSTEM:code`` for coded rows, ``local:<label>`` for the others.

        A label coded in some rows (``Influenza, J11.1``) and written bare in
        others is one concept: the bare rows adopt the one coded concept that
        has their label. A label shared by several coded concepts stays
        local: which code it means cannot be told.

        Returns each row's concept code and the concept ids; each row's
        system and code (codes into the two lists that follow them, -1 for
        none; None when no row has one); and each row's label (a code into the labels that follow).
        """
        spelling = self._joined("label")
        code = self._joined("code")
        assert spelling is not None
        n = len(spelling)
        spellings = pd.Series(self.spellings.values, dtype="string")
        keys = label_key(spellings, self.synonyms)
        labels = spellings
        if self.synonyms:
            # A variant is shown as the label it stands for, not as itself.
            targets = {
                label_key(clean_text(pd.Series([t]))).iloc[0]: t for t in self.synonyms.values()
            }
            renamed = (keys != spellings.str.casefold()).to_numpy()
            labels = spellings.mask(renamed, clean_text(keys.map(targets).astype("string")))
        label_of, label_values = pd.factorize(labels, use_na_sentinel=True)
        key_of, key_values = pd.factorize(keys)
        row_key = _compact(key_of[spelling], len(key_values))
        local_ids = (
            "local:" + pd.Series(key_values, dtype="string").str.replace(" ", "_")
        ).tolist()

        code_values = self.tables["code"].values
        # A code is an id only with its system; without one the label stands in.
        if code is not None and system is not None:
            coded = (code >= 0) & (system >= 0)
        else:
            coded = np.zeros(n, dtype=bool)
        ids: list[str] = []
        id_of = None
        adopted = None
        if coded.any():
            assert code is not None
            assert system is not None
            n_codes = len(code_values)
            pair_of, pairs = pd.factorize(system[coded].astype(np.int64) * n_codes + code[coded])
            texts = [
                f"{system_names[s]}:{code_values[c]}"
                for s, c in zip(pairs // n_codes, pairs % n_codes, strict=True)
            ]
            text_of, distinct = pd.factorize(pd.Series(texts, dtype=object))
            ids = list(distinct)
            id_of = np.full(n, -1, dtype=np.int64)
            id_of[coded] = text_of[pair_of]
            if not coded.all():
                n_ids = len(ids)
                pairs = pd.unique(row_key[coded].astype(np.int64) * n_ids + id_of[coded])
                pair_keys = pairs // n_ids
                one = np.bincount(pair_keys, minlength=len(key_values))[pair_keys] == 1
                unique_id = np.full(len(key_values), -1, dtype=np.int64)
                unique_id[pair_keys[one]] = pairs[one] % n_ids
                adopt = unique_id[row_key]
                adopted = ~coded & (adopt >= 0)
                id_of = np.where(adopted, adopt, id_of)
                if not adopted.any():
                    adopted = None

        # Coded ids and local ids are one namespace (a system may be "local").
        concept_of, concept_ids = pd.factorize(pd.Series(ids + local_ids, dtype=object))
        if id_of is None:
            concept = concept_of[len(ids) + row_key]
        else:
            concept = np.where(id_of >= 0, concept_of[id_of], concept_of[len(ids) + row_key])
        concept = _compact(concept, len(concept_ids))
        del row_key

        sys_names = list(system_names)
        code_names = list(code_values)
        sys_row = code_row = None
        if id_of is not None:
            assert code is not None
            assert system is not None
            sys_row = np.where(coded, system, -1)
            code_row = np.where(coded, code, -1)
            if adopted is not None:
                split = [text.split(":", 1) for text in ids]
                sys_row = np.where(adopted, len(sys_names) + id_of, sys_row)
                code_row = np.where(adopted, len(code_names) + id_of, code_row)
                sys_names += [part[0] for part in split]
                code_names += [part[1] for part in split]
            sys_row = _compact(sys_row, len(sys_names))
            code_row = _compact(code_row, len(code_names))
        return (
            concept,
            list(concept_ids),
            sys_row,
            sys_names,
            code_row,
            code_names,
            _compact(label_of[spelling], len(label_values)),
            list(label_values),
        )

    def _reasons(self) -> np.ndarray | None:
        """Recorded reasons, checked to look like concept ids (``PREFIX:code``)."""
        reason = self._joined("reason_id")
        if reason is None or not (reason >= 0).any():
            return None
        values = pd.Series(self.tables["reason_id"].values, dtype="string")
        curie = values.str.match(_CURIE).fillna(False).astype(bool).to_numpy()
        bad = (reason >= 0) & ~np.append(curie, True)[reason]
        if bad.any():
            example = str(values.iloc[int(reason[np.argmax(bad)])])
            raise RecordsError(
                f"{self.source}: column {self.columns.get('reason')!r} holds {example!r} at "
                f"{self.rows(bad)}; a reason is the concept id of a condition, such as "
                f"'SNOMEDCT:59621000'"
            )
        return reason

    # -- who the patients are -------------------------------------------------------

    def _about(self, key: str) -> pd.Series:
        """The cells of ``key`` (``patient:age``...) over every kept row, handed over once."""
        parts = self.about_parts.pop(key)
        values = parts[0] if len(parts) == 1 else pd.concat(parts)
        return values.reset_index(drop=True)

    def _patients(self, patient: np.ndarray, times: np.ndarray | None, unit: str) -> pd.DataFrame:
        """``Records.patients`` from the kept rows' cells, or the error they give.

        ``patient`` holds each kept row's patient code, ``times`` its time
        (int64 in ``unit``; None without a time column).
        """
        n_ids = len(self.tables["patient_id"])
        table: dict[str, Any] = {}
        if "patient:age" in self.about:
            table["age"] = self._ages(patient, times, n_ids)
        elif "patient:birth_date" in self.about:
            assert times is not None
            table["age"] = self._ages_from_births(patient, times, unit, n_ids)
        else:
            table["age"] = np.full(n_ids, np.nan)
        sexes = pd.Series(pd.NA, index=pd.RangeIndex(n_ids), dtype="string")
        if "patient:sex" in self.about:
            sexes = self._sexes(patient, n_ids)
        table["sex"] = sexes
        for key, column in self.about.items():
            if key.startswith("patient:covariate:"):
                table[column] = self._covariate(key, patient, n_ids)
        ids = pd.Index(self.tables["patient_id"].values, dtype=object, name="patient_id")
        return pd.DataFrame(table, index=pd.RangeIndex(n_ids)).set_axis(ids)

    def _ages(self, patient: np.ndarray, times: np.ndarray | None, n_ids: int) -> np.ndarray:
        """Each patient's age at their latest dated row that gives one (without times, the largest)."""
        column = self.about["patient:age"]
        values = self._about(key="patient:age")
        if pd.api.types.is_bool_dtype(values.dtype):
            raise RecordsError(
                f"{self.source}: column {column!r} holds true/false values, not ages in years"
            )
        if pd.api.types.is_numeric_dtype(values.dtype):
            years = values.astype("float64").to_numpy(dtype=float, na_value=np.nan)
            bad = np.zeros(len(values), dtype=bool)
        else:
            # Ages repeat: each distinct text is read once.
            local, uniques = pd.factorize(values, use_na_sentinel=True)
            cleaned = clean_codes(pd.Series(uniques, dtype=object))
            distinct = pd.to_numeric(cleaned, errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
            given = np.append(cleaned.notna().to_numpy(dtype=bool), False)
            years = np.append(distinct, np.nan)[local]
            bad = given[local] & np.isnan(years)
        with np.errstate(invalid="ignore"):
            bad |= (years < 0) | (years > 150) | np.isinf(years)
        if bad.any():
            example = values[bad].iloc[0]
            shown = repr(example) if isinstance(example, str) else str(example)
            raise RecordsError(
                f"{self.source}: column {column!r} holds {shown} at {self.rows(bad)}; an age "
                f"is a number of years from 0 to 150, or empty where unknown"
            )
        known = ~np.isnan(years)
        who, age = patient[known].astype(np.int64), years[known]
        ages = np.full(n_ids, np.nan)
        ages[who] = age
        if np.array_equal(ages[who], age):
            # One age per patient, as most tables give it: nothing to choose.
            return ages
        when = times[known] if times is not None else np.zeros(len(age), dtype=np.int64)
        # By patient, then time (undated first), then age: each patient's last row wins.
        order = np.lexsort((age, when, who))
        last = order[np.append(who[order][1:] != who[order][:-1], True)] if len(order) else order
        ages[who[last]] = age[last]
        return ages

    def _ages_from_births(
        self, patient: np.ndarray, times: np.ndarray, unit: str, n_ids: int
    ) -> np.ndarray:
        """Each patient's age in whole years at their last observation, from their birth date."""
        column = self.about["patient:birth_date"]
        values = self._about("patient:birth_date")
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            raise RecordsError(
                f"{self.source}: column {column!r} holds numbers, not dates; write birth dates "
                f"as ISO 8601 (1961-03-04)"
            )
        local, uniques = pd.factorize(values, use_na_sentinel=True)
        distinct = pd.Series(uniques, dtype=object)
        parsed = pd.to_datetime(distinct, errors="coerce", format="mixed", utc=True)
        parsed = parsed.astype("datetime64[ns, UTC]")
        empty = clean_text(distinct.astype("string")).isna().to_numpy()
        failed = parsed.isna().to_numpy() & ~empty
        if failed.any():
            bad = np.append(failed, False)[local]
            raise RecordsError(
                f"{self.source}: column {column!r} holds "
                f"{str(uniques[int(np.argmax(failed))])!r} at {self.rows(bad)}, which is not a "
                f"date; write birth dates as ISO 8601 (1961-03-04), or leave them empty where "
                f"unknown"
            )
        born = np.append(np.asarray(parsed.array.asi8), _NAT)[local]
        given = born != _NAT
        self._one_per_patient(patient, born, given, column, "birth date")
        birth = np.full(n_ids, _NAT, dtype=np.int64)
        birth[patient[given]] = born[given]
        seen = times != _NAT
        last = np.full(n_ids, _NAT, dtype=np.int64)
        np.maximum.at(last, patient[seen].astype(np.int64), times[seen])
        born_at = pd.Series(birth.view("M8[ns]"))
        last_at = pd.Series(last.view(f"M8[{unit}]"))
        early = (born_at > last_at).to_numpy()
        if early.any():
            first = int(np.argmax(early))
            rows = (patient == first) & seen
            raise RecordsError(
                f"{self.source}: patient {self.tables['patient_id'].values[first]!r} is born "
                f"(column {column!r}) after their last observation (column "
                f"{self.columns.get('time')!r}) at {self.rows(rows)}; correct the birth date or "
                f"the times"
            )
        return _completed_years(born_at, last_at)

    def _sexes(self, patient: np.ndarray, n_ids: int) -> pd.Series:
        """Each patient's sex, the same in every row that gives one."""
        column = self.about["patient:sex"]
        values = self._about("patient:sex")
        local, uniques = pd.factorize(values, use_na_sentinel=True)
        known, unknown = _read_sexes(pd.Series(uniques, dtype=object))
        if unknown.any():
            bad = np.append(unknown, False)[local]
            raise RecordsError(
                f"{self.source}: column {column!r} holds {str(uniques[int(np.argmax(unknown))])!r} at "
                f"{self.rows(bad)}; a sex is female, male or other (F/M and the like), or empty "
                f"where unknown"
            )
        code_of, names = pd.factorize(known, use_na_sentinel=True)
        sex = np.append(code_of, -1)[local]
        self._one_per_patient(patient, sex, sex >= 0, column, "sex")
        found = np.full(n_ids, -1, dtype=np.int64)
        found[patient[sex >= 0]] = sex[sex >= 0]
        return _strings(list(names), found)

    def _covariate(self, key: str, patient: np.ndarray, n_ids: int) -> pd.Series:
        """A covariate's value per patient, the same in every row that gives one."""
        column = self.about[key]
        values = self._about(key)
        local, _ = pd.factorize(values, use_na_sentinel=True)
        given = local >= 0
        self._one_per_patient(patient, local, given, column, "value")
        # Each patient's value as written in their first row that gives one.
        at = np.flatnonzero(given)
        who, first = np.unique(patient[at], return_index=True)
        picked = values.iloc[at[first]].set_axis(who.astype(np.int64))
        return picked.reindex(pd.RangeIndex(n_ids))

    def _one_per_patient(
        self, patient: np.ndarray, value: np.ndarray, given: np.ndarray, column: str, what: str
    ) -> None:
        """Raise naming the first patient whose rows give two different values."""
        pairs = pd.DataFrame({"patient": patient[given], "value": value[given]})
        distinct = pairs.drop_duplicates()
        twice = distinct["patient"].duplicated(keep=False).to_numpy()
        if not twice.any():
            return
        first = int(distinct["patient"].to_numpy()[twice][0])
        rows = (patient == first) & given
        raise RecordsError(
            f"{self.source}: column {column!r} gives patient "
            f"{self.tables['patient_id'].values[first]!r} more than one {what} (at "
            f"{self.rows(rows)}); a patient has one {what}: correct those rows"
        )

    def _kept(self, name: str, kept: np.ndarray | None) -> pd.Series:
        """A ``keep=`` column as read, over the rows kept."""
        parts = self.kept.pop(name)
        values = parts[0] if len(parts) == 1 else pd.concat(parts)
        del parts
        values = values.reset_index(drop=True)
        return values if kept is None else values.iloc[kept].reset_index(drop=True)


def _display_labels(
    concept: np.ndarray, n_concepts: int, label: np.ndarray, n_labels: int
) -> tuple[np.ndarray, int]:
    """Each concept's most frequent label (ties: first seen), and how many others there are.

    ``concept`` and ``label`` are each row's codes (a label -1 counts for
    nothing); returns each concept's label code (-1 for none) and the
    number of (concept, label) pairs that are not a concept's display label.
    """
    valid = label >= 0
    n_labels = max(n_labels, 1)
    pair_of, pairs = pd.factorize(concept[valid].astype(np.int64) * n_labels + label[valid])
    table = pd.DataFrame(
        {
            "concept": pairs // n_labels,
            "label": pairs % n_labels,
            "n": np.bincount(pair_of, minlength=len(pairs)),
        }
    )
    table = table.sort_values("n", ascending=False, kind="stable")
    best = table.drop_duplicates("concept")
    display = np.full(n_concepts, -1, dtype=np.int64)
    display[best["concept"].to_numpy()] = best["label"].to_numpy()
    return display, len(table) - len(best)


def _duplicated_codes(columns: Sequence[tuple[np.ndarray | None, int | None]]) -> np.ndarray:
    """Rows equal to an earlier row in every column (``DataFrame.duplicated``).

    Each column is given as integer codes and how many values there are
    (codes from -1, missing, up), or with None to count its distinct values
    (times as int64); a column that is None is left out. The codes combine
    into one int64 key while their product fits.
    """
    codes: list[tuple[np.ndarray, int]] = []
    size = 1
    n_rows = 0
    for values, n in columns:
        if values is None:
            continue
        n_rows = len(values)
        if n is None:
            values, uniques = pd.factorize(values)
            n = len(uniques)
        else:
            values, n = values.astype(np.int64) + 1, n + 1
        codes.append((values, max(n, 1)))
        size *= max(n, 1)
    if size >= 2**62:
        frame = pd.DataFrame({i: values for i, (values, _) in enumerate(codes)})
        return frame.duplicated().to_numpy()
    key = np.zeros(n_rows, dtype=np.int64)
    for values, n in codes:
        key = key * n + values
    # Sorted stably, equal keys sit together in row order: each but the first
    # is a duplicate. Rows come grouped by patient, so the sort is quick.
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    later = np.zeros(n_rows, dtype=bool)
    later[1:] = ordered[1:] == ordered[:-1]
    duplicate = np.zeros(n_rows, dtype=bool)
    duplicate[order[later]] = True
    return duplicate


def _check_one_kind(data: pd.DataFrame, source: str) -> None:
    pairs = data[["concept_id", "kind"]].drop_duplicates()
    clash = pairs[pairs.duplicated("concept_id", keep=False)]
    if len(clash):
        first = clash["concept_id"].iloc[0]
        its_kinds = sorted(clash.loc[clash["concept_id"] == first, "kind"])
        n = clash["concept_id"].nunique()
        more = f" ({n} concepts have more than one kind)" if n > 1 else ""
        raise RecordsError(
            f"{source}: concept {first!r} appears with kinds {its_kinds}{more}; "
            f"a concept has one kind. Correct the kind column, or give the "
            f"concepts distinct labels or codes."
        )
