"""What the standard-format readers (Synthea CSV, FHIR R4, OMOP CDM) do alike.

Each reader turns its format's rows into observations of its own making,
then follows the same steps, which live here so that the three name and
count things alike: options checked before anything is read; numeric values
judged against reference ranges, with the adult-age rule, into
``Records.measurements`` (:data:`kgmed.records.core.MEASUREMENT_COLUMNS`);
drug products split into their ingredients; one kind per concept; the
observations kept handed to :meth:`Records.from_dataframe`; and a report
whose reasons for dropping an observation carry the same names in every
reader:

- ``no concept``: the observation has neither a code nor a label;
- ``no patient``, ``void`` (FHIR): it names no patient; it was entered in
  error, refuted or cancelled;
- ``social``: it is social or administrative, or answers a survey or
  social-history question;
- ``observation value not numeric or coded``, ``observation without
  value``, ``observation qualifier value``: its answer is text, is missing,
  or says nothing without its question ("Negative");
- ``measurement in range``, ``measurement without reference range``,
  ``measurement unit mismatch``, ``measurement not a number``,
  ``measurement of a patient under 18``: a numeric value by its status
  (:data:`MEASUREMENT_DROPS`);
- ``no encounter``: it names no encounter (``basket="encounter"``);
- ``duplicate``: it repeats one kept (patient, concept, encounter, time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from kgmed.errors import EmptyRecordsError, ParameterError
from kgmed.records._normalize import clean_text, label_key, per_distinct
from kgmed.records._patients import _completed_years, _patients_note
from kgmed.records.core import BASKETS, Records, RecordsReport
from kgmed.records.vocab import STATUSES, ReferenceRange, flag_observations, ingredients

__all__ = [
    "DATES_NOT_PARSED",
    "DUPLICATE",
    "JUDGED_AS_ADULTS",
    "KEPT_COLUMNS",
    "KEPT_UNDATED",
    "MEASUREMENT_DROPS",
    "NOT_NUMERIC_OR_CODED",
    "NO_CONCEPT",
    "NO_ENCOUNTER",
    "NO_PATIENT",
    "QUALIFIER",
    "SOCIAL",
    "VOID",
    "WITHOUT_VALUE",
    "birth_note",
    "check_options",
    "concept_ids",
    "conversion_notes",
    "counts",
    "dates_note",
    "file_drops",
    "finish",
    "judge",
    "mark",
    "measurement_drops",
    "measurement_table",
    "nothing_kept",
    "one_kind",
    "patient_table",
    "products_note",
    "reference_notes",
    "status_counts",
    "to_ingredients",
    "to_records",
]

#: Columns the standard readers keep in ``Records.data`` beside
#: :data:`kgmed.records.core.COLUMNS`: the drug product a treatment was read
#: from (``product``, ``product_code``) and the value and unit of a
#: measurement made a finding.
KEPT_COLUMNS: tuple[str, ...] = ("product", "product_code", "value", "unit")

NO_CONCEPT = "no concept"
NO_PATIENT = "no patient"
NO_ENCOUNTER = "no encounter"
VOID = "void"
SOCIAL = "social"
NOT_NUMERIC_OR_CODED = "observation value not numeric or coded"
WITHOUT_VALUE = "observation without value"
QUALIFIER = "observation qualifier value"
DUPLICATE = "duplicate"
#: Why a measurement is not kept, by its status; a child's value
#: (``under 18``) is ``measurement of a patient under 18``.
MEASUREMENT_DROPS: dict[str, str] = {
    "in range": "measurement in range",
    "no range": "measurement without reference range",
    "unit mismatch": "measurement unit mismatch",
    "not a number": "measurement not a number",
}
#: Not a drop: an observation whose date does not parse is kept without a
#: time, and counted per file under this name.
DATES_NOT_PARSED = "dates not parsed"

_MEASUREMENT_DTYPES: dict[str, Any] = {
    "patient_id": "string",
    "encounter_id": "string",
    "time": "datetime64[ns, UTC]",
    "concept_id": "string",
    "label": "string",
    "value": "float64",
    "unit": "string",
    "status": "string",
    "finding": "string",
    "canonical_value": "float64",
    "canonical_unit": "string",
}


# -- options ------------------------------------------------------------------------------


def check_options(
    *,
    basket: object,
    social: object,
    ingredients: object,
    ranges: object,
    adult_age: object,
) -> None:
    """Raise ParameterError for an option out of range, before any input is read."""
    if basket not in BASKETS:
        raise ParameterError(f"basket must be one of {list(BASKETS)}, got {basket!r}")
    for name, flag in (("social", social), ("ingredients", ingredients)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ParameterError(f"{name} must be True or False, got {flag!r}")
    if ranges is not None:
        if not isinstance(ranges, Mapping):
            raise ParameterError(
                f"ranges must map LOINC codes to ReferenceRange, got {type(ranges).__name__}"
            )
        for code, rng in ranges.items():
            if not isinstance(rng, ReferenceRange):
                raise ParameterError(
                    f"ranges[{code!r}] must be a ReferenceRange, got {type(rng).__name__}"
                )
            if rng.low is None and rng.high is None:
                raise ParameterError(f"reference range for LOINC {code} has neither low nor high")
    if adult_age is not None and (
        isinstance(adult_age, bool)
        or not isinstance(adult_age, Real)
        or not 0 < float(adult_age) < 200
    ):
        raise ParameterError(
            f"adult_age must be a positive number of years or None, got {adult_age!r}"
        )


# -- rows of observations -----------------------------------------------------------------


def mark(drops: pd.Series, mask: pd.Series | np.ndarray, reason: str) -> pd.Series:
    """``drops`` with ``reason`` where ``mask`` holds, unless dropped already.

    The first reason found for an observation is the one it is counted under.
    """
    hit = np.asarray(mask, dtype=bool) & drops.isna().to_numpy()
    if not hit.any():
        return drops
    return drops.mask(hit, reason)


def concept_ids(systems: pd.Series, codes: pd.Series, labels: pd.Series) -> pd.Series:
    """The concept ids Records will give: ``SYSTEM:code``, else ``local:<label>``."""
    coded = systems.notna() & codes.notna()
    local = "local:" + label_key(clean_text(labels)).str.replace(" ", "_")
    return (systems + ":" + codes).where(coded, local).astype("string")


def counts(values: pd.Series, *, sort: bool = False) -> dict[str, int]:
    """How often each value occurs (in order of first appearance, or most first)."""
    return {str(value): int(n) for value, n in values.value_counts(sort=sort).items()}


def to_ingredients(facts: pd.DataFrame, split: np.ndarray) -> pd.DataFrame:
    """One row per active ingredient of the drug products in ``split``; other rows as they are.

    The product's ``label`` becomes each ingredient's
    (:func:`kgmed.records.vocab.ingredients`; a product nothing is read from
    stands for its own ingredient), and ``system`` and ``code`` are
    cleared: an ingredient is named (``local:lisinopril``), as kgmed holds
    no RxNorm ingredient table offline. The index is reset.
    """
    products = facts["label"].where(np.asarray(split, dtype=bool))
    names = per_distinct(
        products, lambda distinct: [ingredients(str(p)) or [str(p)] for p in distinct], dtype=object
    )
    exploded = facts.assign(_ingredient=names).explode("_ingredient", ignore_index=True)
    named = exploded["_ingredient"].notna().to_numpy()
    exploded.loc[named, "label"] = exploded.loc[named, "_ingredient"].astype("string").to_numpy()
    exploded.loc[named, ["system", "code"]] = pd.NA
    return exploded.drop(columns="_ingredient")


def one_kind(
    ids: pd.Series, kinds: pd.Series, *, untagged: pd.Series | np.ndarray, order: pd.Series
) -> pd.Series:
    """One kind per concept: a tagged description's, then the first source's.

    A code whose descriptions differ (``Chronic pain`` and ``Chronic pain
    (finding)``) gets the kind its semantic tag says; a concept found in two
    sources (a code diagnosed as a condition and given as an answer) the
    kind of the source first in ``order``.
    """
    ranked = pd.DataFrame(
        {"id": ids, "kind": kinds, "untagged": np.asarray(untagged, dtype=bool), "order": order}
    )
    first = ranked.sort_values(["untagged", "order"], kind="stable").drop_duplicates("id")
    return ids.map(first.set_index("id")["kind"]).astype("string")


# -- measurements -------------------------------------------------------------------------


def judge(
    measured: pd.DataFrame,
    *,
    ranges: Mapping[str, ReferenceRange] | None,
    adult_age: float | None,
    births: pd.Series | None,
) -> pd.DataFrame:
    """Numeric values judged against their reference ranges, as rows of Records.measurements.

    Parameters
    ----------
    measured : pandas.DataFrame
        One row per value: ``patient_id``, ``encounter_id``, ``time``
        (UTC), ``concept_id``, ``label``, ``loinc`` (the LOINC code, or
        ``<NA>`` for another system), ``value`` and ``unit``; any other
        column is carried after :data:`~kgmed.records.core.MEASUREMENT_COLUMNS`.
    ranges : mapping, optional
        As :func:`kgmed.records.vocab.flag_observations` takes them.
    adult_age : float or None
        The ranges are adults': a value in or out of range of a patient
        younger than this is not judged and gets the status
        ``under <adult_age>``.
    births : pandas.Series, optional
        Birth dates (UTC) by patient id; a patient without one is judged as
        an adult.

    Returns
    -------
    pandas.DataFrame
        The index of ``measured``; ``status`` one of
        :data:`kgmed.records.vocab.STATUSES` or ``under 18``, ``finding``
        the finding made of the value when (and only when) it is
        ``flagged``, ``canonical_value`` and ``canonical_unit`` the value in
        its range's unit (converted if it was in another one), whatever the
        patient's age.
    """
    judged = flag_observations(
        pd.DataFrame(
            {"code": measured["loinc"], "value": measured["value"], "unit": measured["unit"]},
            index=measured.index,
        ),
        ranges=ranges,
    )
    status = judged["status"].to_numpy(dtype=object).copy()
    times = pd.to_datetime(measured["time"], utc=True).astype("datetime64[ns, UTC]")
    if adult_age is not None and births is not None and len(births):
        born = measured["patient_id"].map(births).astype("datetime64[ns, UTC]")
        years = (times - born).dt.days.to_numpy(dtype=float, na_value=np.nan) / 365.2425
        young = (years < adult_age) & np.isin(status, ["flagged", "in range"])
        status[young] = f"under {adult_age:g}"
    statuses = pd.Series(status, index=measured.index, dtype="string")
    table = pd.DataFrame(
        {
            "patient_id": measured["patient_id"],
            "encounter_id": measured["encounter_id"],
            "time": times,
            "concept_id": measured["concept_id"],
            "label": measured["label"],
            "value": pd.to_numeric(measured["value"], errors="coerce"),
            "unit": measured["unit"],
            "status": statuses,
            "finding": judged["finding"].where(statuses == "flagged"),
            "canonical_value": judged["canonical_value"],
            "canonical_unit": judged["canonical_unit"],
        },
        index=measured.index,
    )
    extras = [c for c in measured.columns if c not in table.columns and c != "loinc"]
    return pd.concat([table, measured[extras]], axis=1).astype(_MEASUREMENT_DTYPES)


def measurement_drops(status: pd.Series) -> pd.Series:
    """Why each measurement is dropped, by its status; ``<NA>`` for one flagged."""
    reasons = status.map(MEASUREMENT_DROPS).astype("string")
    young = status.str.startswith("under ").fillna(False).to_numpy(dtype=bool)
    return reasons.mask(young, "measurement of a patient " + status)


def conversion_notes(measurements: pd.DataFrame, where: str) -> list[str]:
    """A note on the values converted into their range's (or canonical) unit, by unit.

    ``where`` names the input (``observations.csv``). A value was converted
    when its ``canonical_unit`` is not its ``unit`` and the conversion
    changed the values (``412 values converted from mmol/L to mg/dL``);
    another spelling of the same unit (``mg/dl``, or a range's alias such as
    ``mL/min`` for ``mL/min/{1.73_m2}``) leaves them as they are and is not
    counted.
    """
    if not len(measurements):
        return []
    unit = measurements["unit"].astype("string").str.strip()
    into = measurements["canonical_unit"].astype("string")
    moved = (into.notna() & (unit != into)).fillna(False).to_numpy(dtype=bool)
    if not moved.any():
        return []
    frame = pd.DataFrame(
        {
            "unit": unit[moved],
            "into": into[moved],
            "changed": ~np.isclose(
                measurements.loc[moved, "value"].to_numpy(dtype=float),
                measurements.loc[moved, "canonical_value"].to_numpy(dtype=float),
                rtol=1e-9,
                atol=0.0,
            ),
        }
    )
    pairs = frame.groupby(["unit", "into"], sort=True)["changed"].agg(["size", "any"])
    pairs = pairs[pairs["any"]].sort_values("size", ascending=False, kind="stable")
    if not len(pairs):
        return []
    said = ", ".join(
        f"{n:,} from {written} to {canonical}" for (written, canonical), n in pairs["size"].items()
    )
    return [
        f"{where}: {int(pairs['size'].sum()):,} values converted into their reference unit "
        f"(Records.measurements, canonical_value): {said}"
    ]


def measurement_table(
    pieces: Sequence[pd.DataFrame], extras: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Records.measurements: the judged values of every source, in one table."""
    dtypes = {**_MEASUREMENT_DTYPES, **(extras or {})}
    if not pieces:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})
    table = pd.concat(pieces, ignore_index=True).loc[:, list(dtypes)]
    return table.astype(dtypes)


def status_counts(measurements: pd.DataFrame) -> dict[str, int]:
    """Measurements by status, in the order of :data:`kgmed.records.vocab.STATUSES`."""
    counts = measurements["status"].value_counts()
    found = [s for s in STATUSES if s in counts.index]
    found += sorted(str(s) for s in counts.index if s not in STATUSES)
    return {status: int(counts[status]) for status in found}


#: What becomes of a row whose date does not parse, and of a patient whose
#: birth date does not.
KEPT_UNDATED = "those rows are kept without a time"
JUDGED_AS_ADULTS = "those patients' values are judged as adults'"


_EARLIEST = pd.Timestamp.min.tz_localize("UTC")
_LATEST = pd.Timestamp.max.tz_localize("UTC")


def utc_times(values: pd.Series, **options: Any) -> pd.Series:
    """``values`` parsed as UTC times in nanoseconds; what does not parse is NaT.

    ``options`` go to :func:`pandas.to_datetime` (``format=``). A date
    outside what nanoseconds hold (before 1677 or after 2262, such as
    ``-1`` or ``9999-12-31``) does not parse either, rather than failing
    the whole column.
    """
    parsed = pd.to_datetime(values, errors="coerce", utc=True, **options)
    outside = parsed.notna() & ((parsed < _EARLIEST) | (parsed > _LATEST))
    if outside.any():
        parsed = parsed.mask(outside)
    return parsed.astype("datetime64[ns, UTC]")


def dates_note(
    name: str, column: str, n: int, example: str, where: str, *, outcome: str = KEPT_UNDATED
) -> str:
    """A note naming the dates of a file that do not parse, and what became of them.

    ``column`` says where the dates are written (``column 'START'``,
    ``field 'onsetDateTime'``), ``where`` the first of them (``line 3``).
    """
    return (
        f"{name}: {column} holds {n:,} value(s) that are not dates, such as "
        f"{example!r} at {where}; {outcome} (write dates as ISO 8601, "
        f"2019-07-08 or 2019-07-08T23:38:03Z)"
    )


def products_note(name: str, rows: int, n_read: int) -> list[str]:
    """A note on a file whose combination products gave more observations than rows."""
    if n_read == rows:
        return []
    return [
        f"{name}: {rows:,} rows; combination products gave one observation per ingredient, "
        f"{n_read:,} in all"
    ]


def reference_notes(
    data: pd.DataFrame,
    *,
    patients: tuple[str, str, pd.Index] | None,
    encounters: tuple[str, str, pd.Index] | None,
) -> list[str]:
    """Notes on what the reference tables of patients and encounters say of the data kept.

    Each is given as (its name, what it holds, its ids): the patients with no
    observation kept, and the observations that name an id not in the table.
    """
    notes: list[str] = []
    if patients is not None:
        name, word, ids = patients
        without = len(ids.difference(pd.Index(data["patient_id"].unique())))
        notes.append(f"{name}: {len(ids):,} {word}s, {without:,} of them with no observation kept")
        n_unknown = int((~data["patient_id"].isin(ids)).sum())
        if n_unknown:
            notes.append(f"{n_unknown:,} observations kept name a {word} not in {name}")
    if encounters is not None:
        name, word, ids = encounters
        named = data["encounter_id"].notna()
        n_unknown = int((named & ~data["encounter_id"].isin(ids)).sum())
        notes.append(
            f"{name}: {len(ids):,} {word}s; {n_unknown:,} observations kept name "
            f"a{'n' if word[0] in 'aeiou' else ''} {word} not in it"
        )
    return notes


def birth_note(
    measurements: pd.DataFrame, births: pd.Series | None, adult_age: float | None, where: str
) -> list[str]:
    """A note on the values judged by adult ranges for want of a birth date."""
    if adult_age is None or not len(measurements):
        return []
    known = births.dropna().index if births is not None else pd.Index([])
    n = int((~measurements["patient_id"].isin(known)).sum())
    if not n:
        return []
    return [
        f"{n:,} measurements are of patients with no birth date ({where}); adult reference "
        f"ranges were applied to them"
    ]


# -- who the patients are ----------------------------------------------------------------


def patient_table(
    data: pd.DataFrame,
    *,
    births: pd.Series | None,
    sexes: pd.Series | None,
    deaths: pd.Series | None = None,
    latest: Any = None,
    where: str,
) -> tuple[pd.DataFrame | None, list[str]]:
    """``Records.patients`` from a reader's table of patients, and notes on it.

    ``births`` and ``deaths`` are dates (UTC) and ``sexes`` the sex
    (``female``/``male``/``other``, ``<NA>``), each by patient id; a
    patient not in them is unknown. The age is in completed years at the
    patient's last observation kept (``data["time"]``), or at their death
    when that came first; a patient without a dated observation is aged at
    their death, else at ``latest`` (the latest date of the export). Only
    the patients of ``data`` are in the table. Birth dates are not kept.
    ``where`` names the source in the notes (``patients.csv``). Returns None
    (and no note) when neither births nor sexes are known.
    """
    if births is None and sexes is None:
        return None, []
    ids = pd.Index(pd.unique(data["patient_id"].to_numpy()), dtype=object, name="patient_id")
    times = pd.to_datetime(data["time"], utc=True).astype("datetime64[ns, UTC]")
    last = times.groupby(data["patient_id"].to_numpy(), sort=False).max().reindex(ids)
    at = last
    if deaths is not None:
        died = deaths.reindex(ids).astype("datetime64[ns, UTC]")
        at = last.where(died.isna() | (last <= died), died).fillna(died)
    if latest is not None and not pd.isna(latest):
        at = at.fillna(pd.Timestamp(latest))
    born = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns, UTC]")
    if births is not None:
        born = births[~births.index.duplicated()].reindex(ids).astype("datetime64[ns, UTC]")
    age = _completed_years(born, at)
    notes = []
    early = age < 0
    if early.any():
        age[early] = np.nan
        notes.append(
            f"{where}: {int(early.sum()):,} patient(s) born after their last observation; "
            f"their age is left unknown"
        )
    sex = pd.Series(pd.NA, index=ids, dtype="string")
    if sexes is not None:
        sex = sexes[~sexes.index.duplicated()].reindex(ids).astype("string")
    table = pd.DataFrame({"age": age, "sex": sex.to_numpy()}, index=ids)
    return table, _patients_note(table, where) + notes


# -- to Records, and the report -----------------------------------------------------------


def to_records(kept: pd.DataFrame, *, keep: Sequence[str], basket: str, source: str) -> Records:
    """Records of the observations kept; ``data`` has their ``file`` as ``_file``.

    ``kept`` has the columns ``patient_id``, ``label``, ``kind``,
    ``system``, ``code``, ``encounter_id``, ``time``, ``reason_id``,
    ``file`` and those in ``keep``.
    """
    table = kept.loc[
        :,
        [
            "patient_id",
            "label",
            "kind",
            "system",
            "code",
            "encounter_id",
            "time",
            "reason_id",
            *keep,
            "file",
        ],
    ]
    return Records.from_dataframe(
        table.rename(columns={"file": "_file"}),
        patient="patient_id",
        concept="label",
        kind="kind",
        code="code",
        system="system",
        encounter="encounter_id",
        time="time",
        reason="reason_id",
        keep=[*keep, "_file"],
        basket=basket,
        source=source,
    )


def nothing_kept(source: str, n_read: int, dropped: Mapping[str, int]) -> EmptyRecordsError:
    """The error for input of which nothing is kept, saying why and what would keep more."""
    if n_read == 0:
        return EmptyRecordsError(f"{source}: the input holds no observation to read")
    reasons = ", ".join(f"{n:,} {reason}" for reason, n in dropped.items()) or "nothing read"
    hints = []
    if SOCIAL in dropped:
        hints.append("social=True keeps social concepts and survey answers")
    if any(str(r).startswith("measurement of a patient under") for r in dropped):
        hints.append("adult_age=None judges children's values by adult ranges")
    hint = f"; {' and '.join(hints)}" if hints else ""
    return EmptyRecordsError(
        f"{source}: no observation kept of {n_read:,} read (dropped: {reasons}){hint}"
    )


def file_drops(files: pd.Series, reasons: pd.Series) -> dict[str, dict[str, int]]:
    """Observations dropped per file and reason (a reason ``<NA>`` is kept)."""
    counts = pd.DataFrame({"file": files, "reason": reasons}).dropna()
    found: dict[str, dict[str, int]] = {}
    by_reason = counts.groupby(["file", "reason"], sort=False).size()
    for (name, reason), n in by_reason.items():
        found.setdefault(str(name), {})[str(reason)] = int(n)
    return found


def finish(
    source: str,
    records: Records,
    *,
    keep: Sequence[str],
    read: Mapping[str, int],
    passed: Mapping[str, int],
    drops: Mapping[str, Mapping[str, int]],
    measurements: pd.DataFrame,
    issues: Mapping[str, Mapping[str, int]] | None = None,
    unknown_systems: Mapping[str, int] | None = None,
    notes: Sequence[str] = (),
    patients: pd.DataFrame | None = None,
) -> Records:
    """The reader's Records, with a report in which every observation read is accounted for.

    ``records`` are :func:`to_records`' (with ``_file``). ``read`` and
    ``passed`` count, per file, the observations read and those handed to
    Records; ``drops`` the others by reason. Records drop exact repeats (same
    patient, concept, encounter and time), and nothing else is left for them
    to drop: the difference is counted as ``duplicate``. ``issues`` are
    other per-file counts (``dates not parsed``), shown before ``read``.
    ``patients`` (:func:`patient_table`) becomes ``Records.patients``.
    """
    kept = records.data["_file"].value_counts()
    files: dict[str, dict[str, int]] = {}
    dropped: dict[str, int] = {}
    for name, n_read in read.items():
        row = {key: int(n) for key, n in (issues or {}).get(name, {}).items()}
        row.update({"read": int(n_read), "kept": int(kept.get(name, 0))})
        row.update(drops.get(name, {}))
        repeated = int(passed.get(name, 0)) - row["kept"]
        if repeated:
            row[DUPLICATE] = repeated
        files[name] = row
        for reason, n in row.items():
            if reason not in ("read", "kept") and reason not in (issues or {}).get(name, {}):
                dropped[reason] = dropped.get(reason, 0) + n
    if DUPLICATE in dropped:
        dropped[DUPLICATE] = dropped.pop(DUPLICATE)
    core = records.report
    summary = RecordsReport(
        source=source,
        n_read=sum(int(n) for n in read.values()),
        n_kept=len(records.data),
        dropped=dropped,
        n_patients=core.n_patients,
        n_concepts=core.n_concepts,
        n_label_variants=core.n_label_variants,
        concepts_by_kind=core.concepts_by_kind,
        files=files,
        unknown_systems=dict(unknown_systems or {}),
        measurements=status_counts(measurements),
        notes=list(notes),
    )
    return Records(
        records.data.drop(columns="_file"),
        summary,
        basket=records.basket,
        extra=keep,
        measurements=measurements,
        patients=patients,
    )
