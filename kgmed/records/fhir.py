"""Read FHIR R4 resources, from Bundles or NDJSON bulk exports, into Records."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Union

import pandas as pd

from kgmed._progress import check_progress, progress_bar
from kgmed.errors import (
    EmptyRecordsError,
    ParameterError,
    RecordsError,
    RecordsFileError,
    RecordsFileNotFound,
)
from kgmed.records import _common
from kgmed.records._normalize import clean_text
from kgmed.records.core import Records, normalize_sex
from kgmed.records.vocab import (
    SOCIAL_CATEGORIES,
    ReferenceRange,
    allergy_findings,
    is_social,
    kinds_of_snomed,
    semantic_tags,
    strip_semantic_tag,
)
from kgmed.schema import known_system

__all__ = ["KEPT_COLUMNS", "read_fhir"]

#: Columns :func:`kgmed.read_fhir` keeps in ``Records.data`` beside the
#: canonical ones, as every standard reader does: the drug product a
#: treatment row was read from (``product``, ``product_code``) and the raw
#: value of a measurement made a finding (``value``, ``unit``).
KEPT_COLUMNS: tuple[str, ...] = _common.KEPT_COLUMNS

_Json = dict[str, Any]
_Input = Union[str, "os.PathLike[str]", Mapping[str, Any]]

# Resource types read for observations, and those read as context only.
_FACT_TYPES = (
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
    "AllergyIntolerance",
)
_SUPPORTED = frozenset({*_FACT_TYPES, "Patient", "Encounter", "Medication"})
_TYPE_ORDER = (
    "Patient",
    "Encounter",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Medication",
    "Observation",
    "Procedure",
    "AllergyIntolerance",
)
# What the report counts per file besides resources and observations: the
# first four always (as 0 when nothing was found), the others when met.
_ISSUES = (
    "duplicate resources",
    "unresolved references",
    "codings without system",
    "dates not parsed",
    "reasons not read",
    "empty files",
    "empty bundles",
    "entries without resource",
    "lines without resource",
)
_SUFFIXES = (".json", ".ndjson", ".jsonl")
# FHIR's AdministrativeGender: what Patient.gender may hold.
_GENDERS = ("male", "female", "other", "unknown")
_NDJSON = (".ndjson", ".jsonl")

# Which coding of a CodeableConcept is read, by the system's concept-id prefix;
# a known system not listed comes after the listed ones.
_CONDITION_SYSTEMS = ("SNOMEDCT", "ICD10CM", "ICD10", "ICD9CM")
_DRUG_SYSTEMS = ("RXNORM",)
_TEST_SYSTEMS = ("LOINC",)
_ANSWER_SYSTEMS = ("SNOMEDCT",)

# An allergy's substance: SNOMED CT substances, else RxNorm ingredients.
_SUBSTANCE_SYSTEMS = ("SNOMEDCT", "RXNORM")
_UCUM = "http://unitsofmeasure.org"

# Answers that say nothing without their question.
_QUALIFIERS = frozenset({"260385009", "10828004", "260415000", "260373001"})
# Resources recorded by mistake, saying the opposite of their code, or of
# something that did not happen.
_VOID_STATUSES = frozenset({"entered-in-error", "refuted", "cancelled", "not-done"})

# Why an observation is dropped, besides the reasons every reader gives
# (kgmed.records._common): its subject is a Group, Device...; it names its
# patient in no way kgmed can tell who they are; its drug is a Medication
# that is not in the input and the reference gives no name either.
_NOT_A_PATIENT = "subject not a patient"
_NOT_IDENTIFIED = "patient not identified"
_NO_MEDICATION = "medication not in the input"
# How many references a note names.
_NAMED = 3

_FACTS = (
    "file",
    "entry",
    "origin",
    "patient_id",
    "encounter_id",
    "time",
    "time_field",
    "system",
    "code",
    "display",
    "question",
    "social_category",
    "intolerance",
    "reason_system",
    "reason_code",
    "reason_display",
    "value",
    "unit",
    "drop",
)


def read_fhir(
    paths_or_bundles: _Input | Sequence[_Input],
    *,
    basket: str = "patient",
    social: bool = False,
    ingredients: bool = True,
    ranges: Mapping[str, ReferenceRange] | None = None,
    adult_age: float | None = 18,
    progress: bool | None = None,
) -> Records:
    """Read FHIR R4 resources into Records.

    Conditions become diseases, symptoms or findings (by the SNOMED CT
    semantic tag of their display), procedures procedures, medication
    requests and statements treatments (grouped to their active
    ingredients), each with its recorded reason, allergies and intolerances
    findings (``"Allergy to peanut"``), and observations findings: a coded
    answer as it is, a number when it falls outside its reference range
    (``"HbA1c high"``). Codings map to the
    same concept ids as :func:`kgmed.read_records` and the other standard
    readers give (``SNOMEDCT:44054006``, ``RXNORM:314076``), so that one
    patient's facts read from FHIR and from a CSV export are the same
    concepts. ``docs/reading-fhir.md`` explains each choice.

    Parameters
    ----------
    paths_or_bundles : path, dict, or a list of them
        Bundle JSON files (``transaction``, ``collection``, ``searchset``,
        ``batch``...), NDJSON bulk-export files (one resource per line,
        ``.ndjson`` or ``.jsonl``), folders of such files, or parsed JSON:
        a Bundle or a single resource as a dict. References between
        resources (``urn:uuid:...`` full URLs, ``Patient/<id>``, absolute
        and versioned URLs, ``#contained``, and an ``identifier`` alone)
        are resolved across all of them. A subject that finds no resource
        but names a Patient (``Patient/<id>``, ``urn:uuid:<id>``) is that
        patient: bulk exports may hold their Patients in a file not read.
        A subject that is, or names, a Group, Device, Encounter... is
        dropped as ``"subject not a patient"``, never made a patient; one
        known by no id a Patient of the input matches (an identifier, a
        conditional or contained reference) as ``"patient not
        identified"``.
    basket : {"patient", "encounter"}, default "patient"
        What mining counts co-occurrence in: a patient's whole record, or
        one encounter (the ``encounter`` of each resource). Per encounter,
        observations that name no encounter are dropped and counted.
    social : bool, default False
        Keep social and administrative concepts (employment, housing,
        "Medication review due", see :func:`kgmed.records.vocab.is_social`)
        and the observations of the survey and social-history categories
        (:data:`kgmed.records.vocab.SOCIAL_CATEGORIES`). By default they are
        dropped and counted as ``"social"``.
    ingredients : bool, default True
        Group drug products to their active ingredients (``lisinopril 10 MG
        Oral Tablet`` becomes ``local:lisinopril``; a combination product
        gives one treatment per ingredient); the product stays in the
        ``product`` and ``product_code`` columns. False: each product is
        its own concept (``RXNORM:314076``).
    ranges : mapping of str to ReferenceRange, optional
        Reference ranges by LOINC code for numeric observations;
        :data:`kgmed.records.vocab.REFERENCE_RANGES` by default.
    adult_age : float or None, default 18
        The reference ranges are adults'; observations of patients younger
        than this (by their Patient's ``birthDate``) are not judged against
        them and are counted as ``"measurement of a patient under 18"``.
        None judges every patient's.
    progress : bool, optional
        Draw a progress bar over the files and bundles read on standard error: None
        (the default) when standard error is a terminal, True always, False
        never.

    Returns
    -------
    Records
        With the columns :data:`~kgmed.records.fhir.KEPT_COLUMNS` besides the
        canonical ones, and ``Records.measurements``: every numeric
        observation judged (columns :data:`kgmed.records.MEASUREMENT_COLUMNS`)
        with its status.
        The report counts, per input file (:meth:`RecordsReport.files_frame`),
        the resources of each type, what could not be read and why, and the
        observations read, kept and dropped by reason (a combination drug
        gives one observation per ingredient, a panel one per component); a
        date that does not parse leaves its observation without a time,
        counted as ``dates not parsed`` and named in ``report.notes``.
        References that find no resource are counted per file as
        ``unresolved references``, and ``report.notes``, which the printed
        report shows, says what came of them by kind (subject, encounter,
        reasonReference, medicationReference), naming the first Conditions
        and Medications not found but never a patient or encounter id.
        ``report.measurements`` counts numeric observations by status and
        ``report.unknown_systems`` codings whose system kgmed does not know.

    Raises
    ------
    RecordsFileNotFound
        If a path does not exist.
    RecordsFileError
        If a file is not UTF-8 JSON (the message gives the line and column,
        or for NDJSON the line) or is JSON but not a FHIR resource.
    EmptyRecordsError
        If no observation is left to read.
    RecordsError
        If a resource is malformed (a field of the wrong JSON type); the
        message names the file, the entry or line, and the resource.
    ParameterError
        If an option is out of range.

    See Also
    --------
    kgmed.read_records : Read records from a CSV file.
    kgmed.records.vocab : The vocabulary rules shared by the standard readers.

    Examples
    --------
    >>> from kgmed.records.fhir import read_fhir
    >>> bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
    ...     {"fullUrl": "urn:uuid:p1", "resource": {"resourceType": "Patient", "id": "p1"}},
    ...     {"fullUrl": "urn:uuid:c1", "resource": {
    ...         "resourceType": "Condition", "id": "c1", "subject": {"reference": "urn:uuid:p1"},
    ...         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "444814009",
    ...                              "display": "Viral sinusitis (disorder)"}]}}},
    ...     {"resource": {
    ...         "resourceType": "MedicationRequest", "id": "m1", "subject": {"reference": "Patient/p1"},
    ...         "medicationCodeableConcept": {"coding": [{
    ...             "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "308182",
    ...             "display": "Amoxicillin 250 MG Oral Capsule"}]},
    ...         "reasonReference": [{"reference": "urn:uuid:c1"}]}}]}
    >>> records = read_fhir(bundle)
    >>> records.data[["concept_id", "label", "kind", "reason_id"]]
               concept_id            label       kind           reason_id
    0  SNOMEDCT:444814009  Viral sinusitis    disease                <NA>
    1   local:amoxicillin      amoxicillin  treatment  SNOMEDCT:444814009
    >>> records.data.loc[1, ["product", "product_code"]].tolist()
    ['Amoxicillin 250 MG Oral Capsule', 'RXNORM:308182']

    A subject whose Patient is not in the input keeps the id its reference
    gives; a Group is never a patient:

    >>> elsewhere = {"resourceType": "Condition", "id": "c2", "code": {"text": "Gout"},
    ...              "subject": {"reference": "Patient/p2"}}
    >>> ward = dict(elsewhere, id="c3", subject={"reference": "Group/g1"})
    >>> records = read_fhir([bundle, elsewhere, ward])
    >>> sorted(set(records.data["patient_id"])), records.report.dropped
    (['p1', 'p2'], {'subject not a patient': 1})
    >>> for note in records.report.notes:
    ...     print(note.split(";")[0])
    subject: 1 resource (1 Condition), such as Condition/c2, refer to 1 patient not in the input
    subject: 1 resource (1 Condition), such as Condition/c3, have a subject that is no Patient (Group: 1)
    """
    _common.check_options(
        basket=basket, social=social, ingredients=ingredients, ranges=ranges, adult_age=adult_age
    )
    inputs, source = _inputs(paths_or_bundles)
    counts: dict[str, Counter[str]] = {name: Counter() for name, _ in inputs}
    entries: list[_Entry] = []
    show = check_progress(progress)
    for name, item in progress_bar(inputs, show=show, desc="reading FHIR", unit="file"):
        for where, resource in _parsed(name, item, counts[name]):
            _unpack(resource, name, where, None, entries, counts[name], top=True)
    unique, index, identifiers = _index(entries, counts)
    context = _Context(index=index, identifiers=identifiers, counts=counts)
    for entry in unique:
        _read_resource(entry, context)
    facts = pd.DataFrame(context.rows, columns=list(_FACTS))
    if len(facts) == 0:
        raise EmptyRecordsError(f"{source}: {_nothing_read(counts)}")
    births, notes = _births(context)
    notes += _reference_notes(context)
    facts, measurements = _classify(
        facts,
        basket=basket,
        social=social,
        ingredients=ingredients,
        ranges=ranges,
        adult_age=adult_age,
        births=births,
    )
    notes += _common.birth_note(measurements, births, adult_age, "Patient.birthDate")
    notes += _common.conversion_notes(measurements, "Observation")
    return _records(
        facts,
        measurements,
        counts,
        context.unknown_systems,
        source=source,
        basket=basket,
        notes=notes,
        context=context,
        births=births,
    )


# -- inputs ---------------------------------------------------------------------------


@dataclass
class _Entry:
    """One resource as found: its file, where in the file, its full URL."""

    file: str
    where: str
    full_url: str | None
    resource: _Json

    def name(self) -> str:
        """The resource named for messages: file, position, type and id."""
        resource = self.resource
        ident = f"{resource.get('resourceType')}/{resource.get('id', '?')}"
        at = f"{self.where} " if self.where else ""
        return f"{self.file}: {at}({ident})"


def _inputs(
    paths_or_bundles: _Input | Sequence[_Input],
) -> tuple[list[tuple[str, Path | Mapping[str, Any]]], str]:
    """Each input with the name messages and the report give it, and the source name."""
    given: list[Any] = [paths_or_bundles]
    if isinstance(paths_or_bundles, (list, tuple)):
        given = list(paths_or_bundles)
    single = not isinstance(paths_or_bundles, (list, tuple))
    if not given:
        raise ParameterError("read_fhir needs at least one path, Bundle or resource")
    found: list[tuple[Path | Mapping[str, Any], Path | None]] = []
    for position, item in enumerate(given):
        if isinstance(item, Mapping):
            found.append((item, None))
        elif isinstance(item, (str, os.PathLike)):
            found += [(file, file) for file in _files(Path(item))]
        else:
            at = "" if single else f" (item {position})"
            raise ParameterError(
                f"read_fhir reads paths, folders and parsed JSON (dicts); got "
                f"{type(item).__name__}{at}"
            )
    names = [p.name if p is not None else "" for _, p in found]
    repeated = {n for n in names if n and names.count(n) > 1}
    inputs: list[tuple[str, Path | Mapping[str, Any]]] = []
    for position, (item, file) in enumerate(found):
        if file is None:
            name = "input" if single else f"input[{position}]"
        else:
            name = os.fspath(file) if file.name in repeated else file.name
        inputs.append((name, item))
    if len(given) == 1 and isinstance(given[0], (str, os.PathLike)):
        source = Path(given[0]).name
    elif len(inputs) == 1:
        source = inputs[0][0]
    else:
        source = f"{inputs[0][0]} and {len(inputs) - 1} more"
    return inputs, source


def _files(path: Path) -> list[Path]:
    if not path.exists():
        raise RecordsFileNotFound(f"{path.name}: no such file or folder ({os.fspath(path)!r})")
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(_SUFFIXES))
    if not files:
        raise EmptyRecordsError(
            f"{path.name}: the folder holds no .json, .ndjson or .jsonl file of FHIR resources"
        )
    return files


def _parsed(
    name: str, item: Path | Mapping[str, Any], count: Counter[str]
) -> list[tuple[str, _Json]]:
    """The top-level JSON objects of one input, with where each was found."""
    if not isinstance(item, Path):
        if not isinstance(item.get("resourceType"), str):
            raise RecordsError(
                f"{name}: not a FHIR resource: a Bundle or resource needs a 'resourceType'"
            )
        return [("", dict(item))]
    raw = item.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RecordsFileError(
            f"{name}: is not UTF-8 text (byte {err.start}: {err.reason}); FHIR JSON is UTF-8"
        ) from err
    if not text.strip():
        count["empty files"] += 1
        return []
    if item.name.lower().endswith(_NDJSON):
        return _ndjson(text, name, count)
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg == "Extra data" and text.lstrip().startswith("{"):
            # One resource per line under a .json name: a bulk export renamed.
            return _ndjson(text, name, count)
        raise RecordsFileError(
            f"{name}: is not JSON: {err.msg} at line {err.lineno}, column {err.colno} "
            f"(character {err.pos})"
        ) from err
    if not isinstance(parsed, dict) or not isinstance(parsed.get("resourceType"), str):
        what = "an object without 'resourceType'" if isinstance(parsed, dict) else "no object"
        raise RecordsFileError(
            f"{name}: is JSON but not FHIR: the top level is {what}; expected a Bundle "
            f"or a resource (NDJSON bulk exports need the .ndjson suffix)"
        )
    return [("", parsed)]


def _ndjson(text: str, name: str, count: Counter[str]) -> list[tuple[str, _Json]]:
    found: list[tuple[str, _Json]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError as err:
            raise RecordsFileError(
                f"{name}: line {number} is not JSON: {err.msg} at column {err.colno}; "
                f"NDJSON holds one resource per line"
            ) from err
        if not isinstance(parsed, dict) or not isinstance(parsed.get("resourceType"), str):
            count["entries"] += 1
            count["lines without resource"] += 1
            continue
        found.append((f"line {number}", parsed))
    return found


def _unpack(
    resource: _Json,
    file: str,
    where: str,
    full_url: str | None,
    out: list[_Entry],
    count: Counter[str],
    *,
    top: bool = False,
) -> None:
    """Resources of a Bundle (nested Bundles included), or the resource itself.

    ``entries`` counts Bundle entries, and resources met outside a Bundle (an
    NDJSON line, a file or dict of one resource).
    """
    if resource.get("resourceType") != "Bundle":
        count["entries"] += top
        out.append(_Entry(file, where, full_url, resource))
        return
    entries = resource.get("entry")
    if not entries:
        count["empty bundles"] += 1
        return
    if not isinstance(entries, list):
        at = f" at {where}" if where else ""
        raise RecordsError(f"{file}: the Bundle{at} has an 'entry' that is not a list")
    count["entries"] += len(entries)
    for number, entry in enumerate(entries, start=1):
        at = f"{where}, entry {number}" if where else f"entry {number}"
        inner = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(inner, dict) or not isinstance(inner.get("resourceType"), str):
            count["entries without resource"] += 1
            continue
        url = entry.get("fullUrl")
        _unpack(inner, file, at, url if isinstance(url, str) else None, out, count)


# A resolved reference: the resource's type and id, and the resource when in the input.
_Target = tuple[str | None, str | None, _Json | None]
# Resources by identifier (system, value), for logical references.
_Identifiers = dict[tuple[str, str], list[_Target]]
# The types a logical reference read by kgmed may find: a subject, an
# encounter, a reason, a drug. Other resources' identifiers are not indexed.
_BY_IDENTIFIER_TYPES = frozenset({"Patient", "Encounter", "Condition", "Medication"})


def _index(
    entries: list[_Entry], counts: dict[str, Counter[str]]
) -> tuple[list[_Entry], dict[str, _Target], _Identifiers]:
    """Count resources by type, drop repeated ones, index the rest by reference.

    Returns the resources read once, the index of literal references (full
    URL and ``Type/id``) and the index of identifiers.
    """
    seen: set[str] = set()
    unique: list[_Entry] = []
    index: dict[str, _Target] = {}
    identifiers: _Identifiers = {}
    for entry in entries:
        count = counts[entry.file]
        resource = entry.resource
        rtype = str(resource["resourceType"])
        count[rtype if rtype in _SUPPORTED else f"unsupported {rtype}"] += 1
        rid = resource.get("id")
        rid = str(rid) if isinstance(rid, (str, int)) and str(rid) else None
        identity = f"{rtype}/{rid}" if rid else entry.full_url
        if identity is not None:
            if identity in seen:
                count["duplicate resources"] += 1
                continue
            seen.add(identity)
        unique.append(entry)
        ident = _own_id(entry)
        target: _Target = (rtype, ident, resource)
        if rid:
            index[f"{rtype}/{rid}"] = target
        if entry.full_url:
            index[entry.full_url] = target
        if ident is not None and rtype in _BY_IDENTIFIER_TYPES:
            for key in _identifier_keys(resource.get("identifier")):
                identifiers.setdefault(key, []).append(target)
    return unique, index, identifiers


def _own_id(entry: _Entry) -> str | None:
    """The id a resource goes by: its ``id``, else the last part of its full URL."""
    rid = entry.resource.get("id")
    if isinstance(rid, (str, int)) and str(rid):
        return str(rid)
    return _last_part(entry.full_url) if entry.full_url else None


def _identifier_keys(identifiers: Any) -> list[tuple[str, str]]:
    """(system, value) of each well-formed Identifier of a list; others are left alone."""
    if not isinstance(identifiers, list):
        return []
    return [
        (str(i.get("system") or ""), str(i["value"]))
        for i in identifiers
        if isinstance(i, dict) and isinstance(i.get("value"), (str, int)) and str(i["value"])
    ]


def _last_part(url: str) -> str:
    return url.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]


def _nothing_read(counts: dict[str, Counter[str]]) -> str:
    total: Counter[str] = Counter()
    for count in counts.values():
        total.update(count)
    met = ", ".join(f"{n} {what}" for what, n in sorted(total.items())) or "nothing"
    return (
        f"no Condition, MedicationRequest, MedicationStatement, Observation, Procedure "
        f"or AllergyIntolerance to read "
        f"(found: {met})"
    )


# -- one pass over the resources ----------------------------------------------------


@dataclass
class _Missing:
    """References of one role that found what they point to nowhere, for a note.

    One per role: ``patient`` (subjects kept under the id their reference
    gives), ``not a patient`` and ``not identified`` (subjects dropped),
    ``encounter``, ``reason`` and ``medication``.
    """

    n: int = 0
    holders: Counter[str] = field(default_factory=Counter)
    seen: set[int] = field(default_factory=set)
    first: str = ""
    outcomes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    targets: dict[str, None] = field(default_factory=dict)
    patients: set[str] = field(default_factory=set)

    def add(
        self,
        entry: _Entry,
        *,
        outcome: str = "",
        kind: str | None = None,
        target: str | None = None,
        patient: str | None = None,
    ) -> None:
        """Count one reference of ``entry``: what came of it and what it names.

        ``target`` (the reference as written) is named in the note, so it is
        given only where it names no patient and no visit.
        """
        resource = entry.resource
        rtype = str(resource.get("resourceType"))
        if not self.first:
            rid = resource.get("id")
            self.first = f"{rtype}/{rid}" if rid is not None else f"a {rtype} without id"
        self.n += 1
        if id(resource) not in self.seen:  # a resource may hold several such references
            self.seen.add(id(resource))
            self.holders[rtype] += 1
        self.outcomes[outcome] += 1
        if kind is not None:
            self.kinds[kind] += 1
        if target is not None and len(self.targets) <= _NAMED:
            self.targets[target] = None
        if patient is not None:
            self.patients.add(patient)


def _missing(context: _Context, role: str) -> _Missing:
    return context.missing.setdefault(role, _Missing())


@dataclass
class _Context:
    """What the pass over resources reads from and writes to."""

    index: dict[str, _Target]
    identifiers: _Identifiers
    counts: dict[str, Counter[str]]
    missing: dict[str, _Missing] = field(default_factory=dict)
    unknown_systems: Counter[str] = field(default_factory=Counter)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    births: dict[str, str] = field(default_factory=dict)
    deaths: dict[str, str] = field(default_factory=dict)
    genders: dict[str, str] = field(default_factory=dict)


def _read_resource(entry: _Entry, context: _Context) -> None:
    reader = _READERS.get(str(entry.resource["resourceType"]))
    if reader is None:
        return
    try:
        reader(entry, context)
    except (AttributeError, TypeError, ValueError, KeyError) as err:
        raise RecordsError(
            f"{entry.name()}: cannot be read as a FHIR R4 {entry.resource['resourceType']} "
            f"({type(err).__name__}: {err}); check that each field has the type FHIR gives it"
        ) from err


def _patient(entry: _Entry, context: _Context) -> None:
    """A patient gives no observation: who they are (birth date, death, gender)."""
    resource = entry.resource
    rid = _own_id(entry)  # the id references resolved to it give
    if rid is None:
        return
    born, died, gender = (resource.get(key) for key in ("birthDate", "deceasedDateTime", "gender"))
    if born is not None:
        context.births[str(rid)] = str(born)
    if died is not None:
        context.deaths[str(rid)] = str(died)
    if gender is not None:
        if gender not in _GENDERS:
            raise RecordsError(
                f"{entry.name()}: gender {gender!r} is none of FHIR's administrative genders "
                f"({', '.join(_GENDERS)}); correct the resource, or leave gender out where unknown"
            )
        context.genders[str(rid)] = str(gender)


def _condition(entry: _Entry, context: _Context) -> None:
    resource = entry.resource
    count = context.counts[entry.file]
    patient, encounter, drop = _subject(entry, context, "encounter")
    system, code, display = _pick(resource.get("code"), _CONDITION_SYSTEMS, count, context)
    statuses = _codes(resource.get("verificationStatus"))
    if statuses & _VOID_STATUSES:
        drop = _common.VOID
    time = _first_time(resource, ("onsetDateTime", "recordedDate"), ("onsetPeriod",))
    context.rows.append(
        _fact(entry, "condition", patient, encounter, time, system, code, display, drop=drop)
    )


def _medication(entry: _Entry, context: _Context) -> None:
    resource = entry.resource
    count = context.counts[entry.file]
    patient, encounter, drop = _subject(entry, context, "encounter", "context")
    if resource.get("status") in _VOID_STATUSES:
        drop = _common.VOID
    concept = resource.get("medicationCodeableConcept")
    if concept is None and resource.get("medicationReference") is not None:
        reference = resource["medicationReference"]
        ref = _resolve(reference, entry, context)
        if ref.resource is not None:
            concept = ref.resource.get("code")
        elif isinstance(reference.get("display"), str) and reference["display"].strip():
            concept = {"text": reference["display"]}
            if ref.written is not None:
                _missing(context, "medication").add(entry, outcome="display", target=_written(ref))
        elif ref.written is not None:
            outcome = "other" if drop else "dropped"
            drop = drop or _NO_MEDICATION
            _missing(context, "medication").add(entry, outcome=outcome, target=_written(ref))
    system, code, display = _pick(concept, _DRUG_SYSTEMS, count, context)
    reason = _reason(entry, context)
    time = _first_time(
        resource, ("authoredOn", "effectiveDateTime", "dateAsserted"), ("effectivePeriod",)
    )
    context.rows.append(
        _fact(
            entry,
            "medication",
            patient,
            encounter,
            time,
            system,
            code,
            display,
            reason=reason,
            drop=drop,
        )
    )


def _observation(entry: _Entry, context: _Context) -> None:
    resource = entry.resource
    count = context.counts[entry.file]
    patient, encounter, drop = _subject(entry, context, "encounter")
    if resource.get("status") in _VOID_STATUSES:
        drop = _common.VOID
    categories = set().union(*(_codes(c) for c in resource.get("category") or []))
    social = bool(categories & SOCIAL_CATEGORIES)
    time = _first_time(
        resource, ("effectiveDateTime", "effectiveInstant", "issued"), ("effectivePeriod",)
    )
    components = resource.get("component") or []
    # A panel (blood pressure) holds its values in components; each is an observation.
    items = [resource, *components] if _has_value(resource) or not components else components
    for item in items:
        system, code, display = _pick(item.get("code"), _TEST_SYSTEMS, count, context)
        origin, value, unit, item_drop = "quantity", None, None, drop
        answer: tuple[str | None, str | None, str | None] = (None, None, None)
        if "valueQuantity" in item:
            quantity = item["valueQuantity"]
            value = quantity.get("value")
            unit = quantity.get("code") if quantity.get("system") == _UCUM else None
            unit = unit or quantity.get("unit")
        elif "valueInteger" in item:
            value = item["valueInteger"]
        elif "valueCodeableConcept" in item:
            origin = "coded"
            answer = _pick(item["valueCodeableConcept"], _ANSWER_SYSTEMS, count, context)
        elif any(key.startswith("value") for key in item):
            item_drop = item_drop or _common.NOT_NUMERIC_OR_CODED
        else:
            item_drop = item_drop or _common.WITHOUT_VALUE
        if origin == "coded":
            row = _fact(
                entry,
                "coded",
                patient,
                encounter,
                time,
                *answer,
                question=display,
                social=social,
                drop=item_drop,
            )
        else:
            if value is not None and not isinstance(value, (int, float)):
                value = str(value)
            row = _fact(
                entry,
                "quantity",
                patient,
                encounter,
                time,
                system,
                code,
                display,
                question=display,
                social=social,
                value=value,
                unit=unit,
                drop=item_drop,
            )
        context.rows.append(row)


def _procedure(entry: _Entry, context: _Context) -> None:
    resource = entry.resource
    count = context.counts[entry.file]
    patient, encounter, drop = _subject(entry, context, "encounter")
    if resource.get("status") in _VOID_STATUSES:
        drop = _common.VOID
    system, code, display = _pick(resource.get("code"), _CONDITION_SYSTEMS, count, context)
    reason = _reason(entry, context)
    time = _first_time(resource, ("performedDateTime",), ("performedPeriod",))
    context.rows.append(
        _fact(
            entry,
            "procedure",
            patient,
            encounter,
            time,
            system,
            code,
            display,
            reason=reason,
            drop=drop,
        )
    )


def _allergy(entry: _Entry, context: _Context) -> None:
    """An allergy or intolerance, coded by its substance or as itself, is a finding."""
    resource = entry.resource
    count = context.counts[entry.file]
    patient, encounter, drop = _subject(entry, context, "encounter")
    if _codes(resource.get("verificationStatus")) & _VOID_STATUSES:
        drop = _common.VOID
    system, code, display = _pick(resource.get("code"), _SUBSTANCE_SYSTEMS, count, context)
    time = _first_time(resource, ("onsetDateTime", "recordedDate"), ("onsetPeriod",))
    context.rows.append(
        _fact(
            entry,
            "allergy",
            patient,
            encounter,
            time,
            system,
            code,
            display,
            intolerance=resource.get("type") == "intolerance",
            drop=drop,
        )
    )


_READERS: dict[str, Callable[[_Entry, _Context], None]] = {
    "Patient": _patient,
    "Procedure": _procedure,
    "Condition": _condition,
    "MedicationRequest": _medication,
    "MedicationStatement": _medication,
    "Observation": _observation,
    "AllergyIntolerance": _allergy,
}


def _fact(
    entry: _Entry,
    origin: str,
    patient: str | None,
    encounter: str | None,
    time: tuple[str | None, str | None],
    system: str | None,
    code: str | None,
    display: str | None,
    *,
    question: str | None = None,
    social: bool = False,
    intolerance: bool = False,
    reason: tuple[str | None, str | None, str | None] = (None, None, None),
    value: Any = None,
    unit: str | None = None,
    drop: str | None = None,
) -> tuple[Any, ...]:
    """One row of the facts table, in the order of ``_FACTS``.

    ``time`` is the date as written and the field it was read from.
    """
    return (
        entry.file,
        entry,
        origin,
        patient,
        encounter,
        *time,
        system,
        code,
        display,
        question,
        social,
        intolerance,
        *reason,
        value,
        unit,
        drop,
    )


def _has_value(item: _Json) -> bool:
    return any(key.startswith("value") for key in item)


def _subject(
    entry: _Entry, context: _Context, *encounter_fields: str
) -> tuple[str | None, str | None, str | None]:
    """The patient and encounter ids of a resource, and why it is dropped if it is.

    A subject is a patient only when it is, or says it is, a Patient: one of
    the input, else a reference that names one (``Patient/<id>``, absolute
    or versioned, or ``urn:uuid:<id>`` without another ``type``), whose id
    it then goes by. A Group, Device, Encounter... is never a patient, and
    neither is a patient known only by an identifier, a condition or a
    contained resource that no Patient of the input matches.
    """
    resource = entry.resource
    ref = _resolve(resource.get("subject") or resource.get("patient"), entry, context)
    patient, drop = ref.ident, None
    if ref.written is None:
        patient, drop = None, _common.NO_PATIENT
    elif ref.rtype not in (None, "Patient"):
        patient, drop = None, _NOT_A_PATIENT
        _missing(context, "not a patient").add(entry, kind=ref.rtype)
    elif ref.contained:
        # A contained Patient is known only inside its container: it is a
        # patient of the input only if one of its identifiers says which.
        found = _by_identifiers((ref.resource or {}).get("identifier"), "Patient", context)
        patient = found[1] if found is not None else None
        if patient is None:
            drop = _NOT_IDENTIFIED
            _missing(context, "not identified").add(entry, kind="a contained Patient")
    elif patient is None:
        drop = _NOT_IDENTIFIED
        _missing(context, "not identified").add(entry, kind=_unnamed(ref.written))
    elif ref.resource is None:
        _missing(context, "patient").add(entry, patient=patient)
    encounter = None
    for name in encounter_fields:
        if resource.get(name) is None:
            continue
        ref = _resolve(resource[name], entry, context)
        if ref.rtype not in (None, "Encounter"):
            _missing(context, "encounter").add(entry, outcome="other", kind=ref.rtype)
        elif ref.contained:
            _missing(context, "encounter").add(entry, outcome="no id")
        elif ref.resource is None and ref.written is not None:
            encounter = ref.ident
            _missing(context, "encounter").add(entry, outcome="kept" if encounter else "no id")
        else:
            encounter = ref.ident
        break
    return patient, encounter, drop


def _written(ref: _Ref) -> str:
    """A reference as written, for notes; a logical one is not spelled out."""
    return "a reference by identifier" if ref.written == _BY_IDENTIFIER else str(ref.written)


def _unnamed(written: str) -> str:
    """How a reference that gives no usable id names its target, for notes."""
    if written == _BY_IDENTIFIER:
        return "an identifier"
    if "?" in written:
        return "a conditional reference"
    if written.startswith("#"):
        return "a contained resource not there"
    return "a reference without type"


class _Ref(NamedTuple):
    """What a Reference points to.

    ``resource`` is the resource when it is in the input (or contained);
    otherwise ``rtype`` and ``ident`` are what the reference itself says,
    where it says it. ``written`` is the reference as written (``"identifier"``
    for a logical reference), None when there is no reference at all.
    """

    rtype: str | None
    ident: str | None
    resource: _Json | None
    written: str | None
    contained: bool = False


_NO_REFERENCE = _Ref(None, None, None, None)
_BY_IDENTIFIER = "identifier"


def _resolve(reference: Any, entry: _Entry, context: _Context) -> _Ref:
    """The resource a Reference points to, in the input or contained, else what it says.

    References in every form FHIR allows are resolved: a full URL of the
    input (``urn:uuid:...``), relative (``Patient/123``), absolute
    (``http://server/fhir/Patient/123``), versioned (``.../_history/2``),
    contained (``#id``) and logical (an ``identifier`` alone, matched to the
    input's resources by system and value). Those that find no resource are
    counted as ``unresolved references``; their id is still read from the
    reference where it says one (``Patient/123``, ``urn:uuid:<id>``), and
    their type from the reference, else from its ``type``.
    """
    if not isinstance(reference, dict):
        if reference is not None:
            raise TypeError(f"a reference should be an object, got {type(reference).__name__}")
        return _NO_REFERENCE
    hint = reference.get("type")
    # Reference.type is a type name, or the URL of its definition.
    hint = hint.rstrip("/").rsplit("/", 1)[-1] if isinstance(hint, str) and hint.strip() else None
    text = reference.get("reference")
    count = context.counts[entry.file]
    if not isinstance(text, str) or not text.strip():
        identifier = reference.get("identifier")
        if identifier is None:
            return _NO_REFERENCE  # a display alone points to nothing
        found = _by_identifiers([identifier], hint, context)
        if found is not None:
            return _Ref(*found, _BY_IDENTIFIER)
        count["unresolved references"] += 1
        return _Ref(hint, None, None, _BY_IDENTIFIER)
    text = text.strip()
    if text.startswith("#"):
        for inner in entry.resource.get("contained") or []:
            if isinstance(inner, dict) and inner.get("id") == text[1:]:
                return _Ref(inner.get("resourceType"), text[1:], inner, text, contained=True)
        count["unresolved references"] += 1
        return _Ref(hint, None, None, text)
    found = context.index.get(text)
    if found is not None:
        return _Ref(*found, text)
    if "?" in text:
        # A conditional reference (Patient?identifier=...) names no id.
        count["unresolved references"] += 1
        return _Ref(text.split("?")[0].rsplit("/", 1)[-1] or hint, None, None, text)
    if text.startswith("urn:"):
        count["unresolved references"] += 1
        return _Ref(hint, _last_part(text), None, text)
    parts = text.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2:
        found = context.index.get(f"{parts[-2]}/{parts[-1]}")
        if found is not None:
            return _Ref(*found, text)
        count["unresolved references"] += 1
        return _Ref(parts[-2], parts[-1], None, text)
    count["unresolved references"] += 1
    return _Ref(hint, None, None, text)


def _by_identifiers(identifiers: Any, rtype: str | None, context: _Context) -> _Target | None:
    """The one resource of the input (of type ``rtype``, if given) that has one of the identifiers.

    None when none has, or when several have: an identifier that matches
    two resources says neither.
    """
    found: dict[tuple[str | None, str | None], _Target] = {}
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    for key in _identifier_keys(identifiers):
        for target in context.identifiers.get(key, []):
            if rtype is None or target[0] == rtype:
                found[target[0], target[1]] = target
    return next(iter(found.values())) if len(found) == 1 else None


def _reason(entry: _Entry, context: _Context) -> tuple[str | None, str | None, str | None]:
    """The condition a drug was given for: the first reasonReference or reasonCode."""
    resource = entry.resource
    count = context.counts[entry.file]
    found: list[tuple[str | None, str | None, str | None]] = []
    for reference in resource.get("reasonReference") or []:
        ref = _resolve(reference, entry, context)
        if ref.resource is not None and ref.rtype == "Condition":
            found.append(_pick(ref.resource.get("code"), _CONDITION_SYSTEMS, None, None))
        elif ref.resource is not None:
            count["reasons not read"] += 1
        elif ref.written is not None:
            _missing(context, "reason").add(entry, target=_written(ref))
    for concept in resource.get("reasonCode") or []:
        found.append(_pick(concept, _CONDITION_SYSTEMS, count, context))
    # Several references to one diagnosis made at several visits are one reason.
    found = list(dict.fromkeys(r for r in found if r[1] is not None or r[2] is not None))
    if len(found) > 1:
        # Records hold one reason per observation.
        count["reasons not read"] += len(found) - 1
    return found[0] if found else (None, None, None)


def _codes(concept: Any) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    return {str(c.get("code")) for c in concept.get("coding") or [] if isinstance(c, dict)}


def _first_time(
    resource: _Json, fields: Sequence[str], periods: Sequence[str]
) -> tuple[str | None, str | None]:
    """The first date the resource gives (a dateTime field, else a period's start), and its field."""
    for name in fields:
        value = resource.get(name)
        if value is not None:
            return str(value), name
    for name in periods:
        period = resource.get(name)
        if isinstance(period, dict) and period.get("start") is not None:
            return str(period["start"]), f"{name}.start"
    return None, None


# The prefix of each system, worked out once: resources repeat a few systems.
_prefix = lru_cache(maxsize=256)(known_system)


def _pick(
    concept: Any,
    prefer: tuple[str, ...],
    count: Counter[str] | None,
    context: _Context | None,
) -> tuple[str | None, str | None, str | None]:
    """System prefix, code and display of the coding read from a CodeableConcept.

    The coding of the most preferred known system is read. Without one, the
    concept is its display (of the first coding that has one) or text, and
    has no code. Codings with no system, and with a system kgmed does not
    know, are counted.
    """
    if concept is None:
        return None, None, None
    if not isinstance(concept, dict):
        raise TypeError(f"a CodeableConcept should be an object, got {type(concept).__name__}")
    best: tuple[int, str, str, str | None] | None = None
    first_display: str | None = None
    bare_code: str | None = None
    for coding in concept.get("coding") or []:
        if not isinstance(coding, dict):
            raise TypeError(f"a coding should be an object, got {type(coding).__name__}")
        raw_code = coding.get("code")
        code = str(raw_code).strip() if raw_code is not None else ""
        display = coding.get("display")
        display = str(display) if display is not None and str(display).strip() else None
        first_display = first_display or display
        system = coding.get("system")
        if not isinstance(system, str) or not system.strip():
            if count is not None:
                count["codings without system"] += 1
            bare_code = bare_code or code or None
            continue
        prefix = _prefix(system)
        if prefix is None:
            if context is not None:
                context.unknown_systems[system.strip()] += 1
            continue
        if not code:
            continue
        rank = prefer.index(prefix) if prefix in prefer else len(prefer)
        if best is None or rank < best[0]:
            best = (rank, prefix, code, display)
    text = concept.get("text")
    text = str(text) if text is not None and str(text).strip() else None
    if best is not None:
        return best[1], best[2], best[3] or text or first_display
    return None, None, first_display or text or bare_code


# -- notes on references that find nothing --------------------------------------------


def _reference_notes(context: _Context) -> list[str]:
    """What became of references to resources not in the input, one note per role.

    The printed report shows notes, so each says how many references of the
    role, from which resource types (and one resource as an example), and
    what became of their observations. References to Conditions and
    Medications are named (the first few); patient and encounter ids never
    are: they would name patients and visits in what ``kgmed build`` prints.
    """
    notes = []
    missing = context.missing
    if "patient" in missing:
        m = missing["patient"]
        notes.append(
            f"subject: {_holders(m)}, such as {m.first}, refer to "
            f"{_n(len(m.patients), 'patient')} not in the input; their observations are kept under the id each "
            f"reference gives (Patient/<id>, urn:uuid:<id>), with age and sex unknown: the "
            f"Patient resources may be in a file not read (their ids are left out: they name "
            f"patients)"
        )
    if "not a patient" in missing:
        m = missing["not a patient"]
        notes.append(
            f"subject: {_holders(m)}, such as {m.first}, have a subject that is no Patient "
            f"({_kinds(m)}); their observations are dropped as {_NOT_A_PATIENT!r}"
        )
    if "not identified" in missing:
        m = missing["not identified"]
        notes.append(
            f"subject: {_holders(m)}, such as {m.first}, name their patient in a way that "
            f"matches no Patient of the input ({_kinds(m)}); their observations are dropped as "
            f"{_NOT_IDENTIFIED!r} (a subject needs a reference Patient/<id>, or an identifier "
            f"of a Patient read with it)"
        )
    if "encounter" in missing:
        m = missing["encounter"]
        outcomes = []
        if m.outcomes["kept"]:
            outcomes.append(f"{m.outcomes['kept']} give the visit id the reference names")
        if m.outcomes["no id"]:
            outcomes.append(
                f"{m.outcomes['no id']} name no id (an identifier, a conditional or contained "
                f"reference) and leave their observations without an encounter"
            )
        if m.outcomes["other"]:
            outcomes.append(
                f"{m.outcomes['other']} point to no Encounter ({_kinds(m)}) and leave their "
                f"observations without an encounter"
            )
        notes.append(
            f"encounter: {_holders(m)}, such as {m.first}, refer to an Encounter not in the "
            f"input: {'; '.join(outcomes)} (encounter ids are left out: they name visits)"
        )
    if "reason" in missing:
        m = missing["reason"]
        notes.append(
            f"reasonReference: {_n(m.n, 'reference')} in {_holders(m)}, such as {m.first}, "
            f"find no resource in the input ({_targets(m)}); those reasons are not recorded"
        )
    if "medication" in missing:
        m = missing["medication"]
        outcomes = []
        if m.outcomes["display"]:
            outcomes.append(f"{m.outcomes['display']} read by the reference's display")
        if m.outcomes["dropped"]:
            outcomes.append(f"{m.outcomes['dropped']} dropped as {_NO_MEDICATION!r}")
        if m.outcomes["other"]:
            outcomes.append(f"{m.outcomes['other']} dropped for another reason")
        notes.append(
            f"medicationReference: {_holders(m)}, such as {m.first}, refer to a Medication "
            f"not in the input ({_targets(m)}): {'; '.join(outcomes)}"
        )
    return notes


def _n(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")


def _holders(missing: _Missing) -> str:
    """``3 resources (2 Condition, 1 Observation)``."""
    by_type = ", ".join(f"{n:,} {rtype}" for rtype, n in sorted(missing.holders.items()))
    return f"{_n(missing.holders.total(), 'resource')} ({by_type})"


def _kinds(missing: _Missing) -> str:
    return ", ".join(f"{kind}: {n:,}" for kind, n in missing.kinds.most_common())


def _targets(missing: _Missing) -> str:
    named = list(missing.targets)[:_NAMED]
    more = len(missing.targets) > _NAMED
    return ", ".join(named) + (" and more" if more else "")


# -- vectorised mapping of the facts --------------------------------------------------

# The kind a concept found in several kinds of resource takes: the first's.
_SOURCE_ORDER = {
    "condition": 0,
    "medication": 1,
    "quantity": 2,
    "coded": 2,
    "procedure": 3,
    "allergy": 4,
}


def _births(context: _Context) -> tuple[pd.Series, list[str]]:
    """Birth dates (UTC) by patient id, and a note on those that do not parse."""
    written = pd.Series(context.births, dtype="string")
    parsed = _times(written)
    bad = (parsed.isna() & written.notna()).to_numpy()
    notes = []
    if bad.any():
        first = written.index[bad][0]
        notes.append(
            _common.dates_note(
                "Patient",
                "field 'birthDate'",
                int(bad.sum()),
                str(written[first]),
                "a Patient resource (its id is left out: it names a patient)",
                outcome=_common.JUDGED_AS_ADULTS,
            )
        )
    return parsed[~bad], notes


def _sexes(genders: Mapping[str, str]) -> pd.Series:
    """Patient.gender by patient id as ``female``/``male``/``other`` (``unknown`` is ``<NA>``)."""
    return normalize_sex(pd.Series(genders, dtype="string"), where="Patient.gender")


def _classify(
    facts: pd.DataFrame,
    *,
    basket: str,
    social: bool,
    ingredients: bool,
    ranges: Mapping[str, ReferenceRange] | None,
    adult_age: float | None,
    births: pd.Series,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kinds, labels, social filter, flags and ingredients, one step per column.

    Returns the facts, each with the reason it is dropped or ``<NA>``, and
    the numeric measurements judged against their reference ranges.
    """
    facts = facts.astype(
        {
            name: "string"
            for name in _FACTS
            if name not in ("entry", "social_category", "intolerance", "value")
        }
    )
    origin = facts["origin"]
    facts["display"] = clean_text(facts["display"])
    drops = _common.mark(
        facts["drop"], facts["display"].isna() & facts["code"].isna(), _common.NO_CONCEPT
    )
    if not social:
        # Drugs, care given and allergies are never social.
        answers = origin.isin(["condition", "coded", "quantity"]).to_numpy()
        flagged_social = (
            facts["social_category"].to_numpy(dtype=bool)
            | is_social(facts["display"]).to_numpy()
            | is_social(facts["question"]).to_numpy()
        )
        drops = _common.mark(drops, answers & flagged_social, _common.SOCIAL)
    tags = semantic_tags(facts["display"])
    qualifier = (origin == "coded") & (
        (tags == "qualifier value").fillna(False)
        | (facts["system"].eq("SNOMEDCT") & facts["code"].isin(_QUALIFIERS)).fillna(False)
    )
    facts["drop"] = _common.mark(drops, qualifier, _common.QUALIFIER)

    kinds = pd.Series("treatment", index=facts.index, dtype="string")
    # A display without its tag is classified by its SNOMED CT code (vocab.snomed_tag).
    snomed = facts["code"].where(facts["system"].eq("SNOMEDCT").fillna(False))
    for source, default in (("condition", "disease"), ("coded", "finding")):
        rows = (origin == source).to_numpy()
        kinds[rows] = kinds_of_snomed(
            facts.loc[rows, "display"], codes=snomed[rows], default=default
        ).to_numpy()
    kinds[(origin == "procedure").to_numpy()] = "procedure"
    kinds[origin.isin(["quantity", "allergy"]).to_numpy()] = "finding"
    facts["kind"] = kinds
    # Whether the kind was told by a semantic tag (or by the resource type).
    described = origin.isin(["condition", "coded"]).to_numpy()
    facts["tagged"] = ~described | semantic_tags(facts["display"], codes=snomed).notna().to_numpy()
    facts["label"] = clean_text(strip_semantic_tag(facts["display"]))
    facts = _allergies(facts)
    facts["value"] = pd.to_numeric(facts["value"], errors="coerce")
    facts, measurements = _flag(facts, ranges, adult_age, births)
    if basket == "encounter":
        facts["drop"] = _common.mark(
            facts["drop"], facts["encounter_id"].isna(), _common.NO_ENCOUNTER
        )
    facts = _products(facts, ingredients)
    facts["reason_id"] = _common.concept_ids(
        facts["reason_system"], facts["reason_code"], strip_semantic_tag(facts["reason_display"])
    )
    return facts, measurements


def _allergies(facts: pd.DataFrame) -> pd.DataFrame:
    """Allergies named as the Synthea reader names them (``Allergy to peanut``)."""
    rows = (facts["origin"] == "allergy").to_numpy()
    if not rows.any():
        return facts
    allergies = facts.loc[rows]
    labels, itself = allergy_findings(
        allergies["display"],
        snomed=(allergies["system"] == "SNOMEDCT").fillna(False),
        intolerance=allergies["intolerance"].astype(bool),
    )
    facts.loc[rows, "label"] = labels.to_numpy()
    # A substance's code is no id for the allergy: the finding is named.
    facts.loc[allergies.index[~itself], ["system", "code"]] = pd.NA
    return facts


def _flag(
    facts: pd.DataFrame,
    ranges: Mapping[str, ReferenceRange] | None,
    adult_age: float | None,
    births: pd.Series,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Numeric observations outside their reference range become findings.

    Returns the facts and every measurement judged, with its raw value and
    what :func:`~kgmed.records._common.judge` said of it.
    """
    rows = ((facts["origin"] == "quantity") & facts["drop"].isna()).to_numpy()
    measured = facts.loc[rows]
    judged = _common.judge(
        pd.DataFrame(
            {
                "patient_id": measured["patient_id"],
                "encounter_id": measured["encounter_id"],
                "time": _times(measured["time"]),
                "concept_id": _common.concept_ids(
                    measured["system"], measured["code"], measured["label"]
                ),
                "label": measured["label"],
                "loinc": measured["code"].where(measured["system"] == "LOINC"),
                "value": measured["value"],
                "unit": measured["unit"],
            }
        ),
        ranges=ranges,
        adult_age=adult_age,
        births=births,
    )
    facts.loc[rows, "drop"] = _common.measurement_drops(judged["status"]).to_numpy()
    flagged = judged.index[(judged["status"] == "flagged").to_numpy()]
    facts.loc[flagged, "label"] = judged.loc[flagged, "finding"]
    # A finding named by its label: "HbA1c high" is no LOINC code.
    facts.loc[flagged, ["system", "code"]] = pd.NA
    return facts, judged.reset_index(drop=True)


def _times(values: pd.Series) -> pd.Series:
    """FHIR dates, dateTimes and instants in UTC; what does not parse is NaT."""
    return _common.utc_times(values, format="ISO8601")


def _products(facts: pd.DataFrame, ingredients: bool) -> pd.DataFrame:
    """Keep each drug's product, and split products into their ingredients."""
    meds = (facts["origin"] == "medication").to_numpy()
    coded = facts["system"].notna() & facts["code"].notna()
    facts["product"] = facts["label"].where(meds)
    facts["product_code"] = (facts["system"] + ":" + facts["code"]).where(meds & coded)
    if not ingredients:
        return facts
    split = meds & facts["drop"].isna().to_numpy() & facts["label"].notna().to_numpy()
    return _common.to_ingredients(facts, split)


def _records(
    facts: pd.DataFrame,
    measurements: pd.DataFrame,
    counts: dict[str, Counter[str]],
    unknown_systems: Counter[str],
    *,
    source: str,
    basket: str,
    notes: list[str],
    context: _Context,
    births: pd.Series,
) -> Records:
    """Records of the facts kept, with a report of everything read."""
    kept = facts.loc[facts["drop"].isna().to_numpy()]
    if len(kept) == 0:
        raise _common.nothing_kept(source, len(facts), _common.counts(facts["drop"], sort=True))
    ids = _common.concept_ids(kept["system"], kept["code"], kept["label"])
    order = kept["origin"].map(_SOURCE_ORDER)
    kept = kept.assign(
        kind=_common.one_kind(ids, kept["kind"], untagged=~kept["tagged"], order=order),
        time=_times(kept["time"]),
    )
    records = _common.to_records(kept, keep=KEPT_COLUMNS, basket=basket, source=source)
    issues = {
        name: {what: int(n) for what, n in count.items() if n} for name, count in counts.items()
    }
    # Counted over every observation read, kept or not: the file is at fault.
    undated = (_times(facts["time"]).isna() & facts["time"].notna()).to_numpy()
    for name, bad in facts.loc[undated].groupby("file", sort=False):
        issues[str(name)][_common.DATES_NOT_PARSED] = len(bad)
        first = bad.iloc[0]
        entry: _Entry = first["entry"]
        ident = f"{entry.resource.get('resourceType')}/{entry.resource.get('id', '?')}"
        notes.append(
            _common.dates_note(
                str(name),
                f"field {first['time_field']!r}",
                len(bad),
                str(first["time"]),
                f"{entry.where} ({ident})" if entry.where else ident,
            )
        )
    n_read = facts["file"].value_counts()
    written = pd.Series(context.deaths, dtype="string")
    deaths = _times(written)
    undated = deaths.isna().to_numpy()
    if undated.any():
        notes.append(
            _common.dates_note(
                "Patient",
                "field 'deceasedDateTime'",
                int(undated.sum()),
                str(written[undated].iloc[0]),
                "a Patient resource (its id is left out: it names a patient)",
                outcome="those patients are aged at their last observation",
            )
        )
    patients, said = _common.patient_table(
        records.data,
        births=births if context.births else None,
        sexes=_sexes(context.genders) if context.genders else None,
        deaths=deaths[~undated],
        latest=_times(facts["time"]).max(),
        where="Patient",
    )
    notes += said
    result = _common.finish(
        source,
        records,
        keep=KEPT_COLUMNS,
        read={name: int(n_read.get(name, 0)) for name in counts},
        passed=_common.counts(kept["file"]),
        drops=_common.file_drops(facts["file"], facts["drop"]),
        measurements=measurements,
        issues=issues,
        unknown_systems=dict(unknown_systems.most_common()),
        notes=notes,
        patients=patients,
    )
    result.report.files = _aligned(result.report.files)
    return result


def _aligned(files: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Every file's counts under the same keys, in reading order.

    Resources by type come first (supported types, then the unsupported
    ones), then problems met on the way, then observations read, kept and
    dropped.
    """
    present = {key for row in files.values() for key in row}.union(_ISSUES[:4])
    head = ["entries", *_TYPE_ORDER]
    skipped = sorted(k for k in present if k.startswith("unsupported "))
    tail = ["read", "kept"]
    issues = [k for k in _ISSUES if k in present]
    drops = sorted(present.difference(head, skipped, tail, issues))
    keys = [k for k in head if k in present] + skipped + issues + tail + drops
    return {name: {key: row.get(key, 0) for key in keys} for name, row in files.items()}
