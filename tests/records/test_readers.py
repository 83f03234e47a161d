"""The three standard-format readers as one family: the same facts give the same Records.

Each test writes one set of facts in Synthea's CSV, FHIR R4 and OMOP CDM
form and reads it back with ``read_synthea``, ``read_fhir`` and
``read_omop``: the concepts, the names of the reasons anything was dropped,
the measurements and the rule for dates that do not parse must be the same.
The last tests read the six patients of ``synthea_csv_59_ca`` from its FHIR
bundles and from its CSV export.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kgmed
from kgmed.records import MEASUREMENT_COLUMNS
from kgmed.records.fhir import read_fhir
from kgmed.records.omop import read_omop
from kgmed.records.synthea import read_synthea
from kgmed.records.vocab import (
    REFERENCE_RANGES,
    SNOMED_TAGS,
    flag_observations,
    semantic_tag,
    strip_semantic_tag,
)

SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@dataclass
class Facts:
    """What a few patients' records hold, in no format in particular."""

    births: dict[str, str]
    # patient, SNOMED CT code, description, start
    conditions: list[tuple[str, str, str, str]]
    # patient, RxNorm code, product, SNOMED CT code of the reason
    drugs: list[tuple[str, str, str, str]] = field(default_factory=list)
    # patient, category, LOINC code, description, value, unit
    values: list[tuple[str, str, str, str, float, str]] = field(default_factory=list)


def _when(i: int) -> str:
    return f"2020-01-{10 + i:02d}T10:00:00Z"


# -- the facts in each format -----------------------------------------------------------


def as_synthea(facts: Facts, folder: Path) -> kgmed.Records:
    folder.mkdir()
    tables = {
        "patients": pd.DataFrame(
            {"Id": list(facts.births), "BIRTHDATE": list(facts.births.values())}
        ),
        "conditions": pd.DataFrame(
            [(start, "", p, f"e{p}", code, d) for p, code, d, start in facts.conditions],
            columns=["START", "STOP", "PATIENT", "ENCOUNTER", "CODE", "DESCRIPTION"],
        ),
        "medications": pd.DataFrame(
            [(_when(0), p, f"e{p}", c, d, r, "") for p, c, d, r in facts.drugs],
            columns=[
                "START",
                "PATIENT",
                "ENCOUNTER",
                "CODE",
                "DESCRIPTION",
                "REASONCODE",
                "REASONDESCRIPTION",
            ],
        ),
        "observations": pd.DataFrame(
            [
                (_when(i), p, f"e{p}", cat, code, d, value, unit, "numeric")
                for i, (p, cat, code, d, value, unit) in enumerate(facts.values)
            ],
            columns=[
                "DATE",
                "PATIENT",
                "ENCOUNTER",
                "CATEGORY",
                "CODE",
                "DESCRIPTION",
                "VALUE",
                "UNITS",
                "TYPE",
            ],
        ),
    }
    for name, table in tables.items():
        table.to_csv(folder / f"{name}.csv", index=False)
    return read_synthea(folder)


def fhir_bundle(facts: Facts) -> dict[str, Any]:
    def coded(system: str, code: str, display: str) -> dict[str, Any]:
        return {"coding": [{"system": system, "code": code, "display": display}]}

    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": p, "birthDate": born} for p, born in facts.births.items()
    ]
    for i, (p, code, description, start) in enumerate(facts.conditions):
        resources.append(
            {
                "resourceType": "Condition",
                "id": f"c{i}",
                "subject": {"reference": f"Patient/{p}"},
                "code": coded(SNOMED, code, description),
                "onsetDateTime": start,
            }
        )
    for i, (p, code, product, reason) in enumerate(facts.drugs):
        resources.append(
            {
                "resourceType": "MedicationRequest",
                "id": f"m{i}",
                "subject": {"reference": f"Patient/{p}"},
                "medicationCodeableConcept": coded(RXNORM, code, product),
                "reasonCode": [coded(SNOMED, reason, "")],
                "authoredOn": _when(0),
            }
        )
    for i, (p, category, code, description, value, unit) in enumerate(facts.values):
        resources.append(
            {
                "resourceType": "Observation",
                "id": f"o{i}",
                "subject": {"reference": f"Patient/{p}"},
                "category": [{"coding": [{"code": category}]}],
                "code": coded(LOINC, code, description),
                "effectiveDateTime": _when(i),
                "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def as_fhir(facts: Facts, folder: Path) -> kgmed.Records:
    return read_fhir(fhir_bundle(facts))


def as_omop(facts: Facts, folder: Path) -> kgmed.Records:
    concepts: dict[tuple[str, str], tuple[int, str, str]] = {}

    def concept(vocabulary: str, code: str, name: str, cls: str) -> int:
        if (vocabulary, code) not in concepts:
            concepts[(vocabulary, code)] = (len(concepts) + 100, name, cls)
        return concepts[(vocabulary, code)][0]

    snomed_class = {
        "disorder": "Disorder",
        "finding": "Clinical Finding",
        "situation": "Context-dependent",
    }

    def condition(code: str, description: str) -> int:
        # OMOP names carry no tag; the vocabulary's class is SNOMED CT's tag.
        tag = semantic_tag(description) or SNOMED_TAGS[code]
        name = strip_semantic_tag(pd.Series([description]))[0]
        return concept("SNOMED", code, name, snomed_class[tag])

    person = pd.DataFrame(
        {"person_id": [int(p) for p in facts.births], "birth_datetime": list(facts.births.values())}
    )
    conditions = pd.DataFrame(
        {
            "person_id": [int(p) for p, *_ in facts.conditions],
            "condition_concept_id": [condition(c, d) for _, c, d, _ in facts.conditions],
            "condition_start_date": [start for *_, start in facts.conditions],
        }
    )
    drugs = pd.DataFrame(
        {
            "person_id": [int(p) for p, *_ in facts.drugs],
            "drug_concept_id": [
                concept("RxNorm", c, d, "Clinical Drug") for _, c, d, _ in facts.drugs
            ],
            "drug_exposure_start_date": [_when(0)] * len(facts.drugs),
        }
    )
    classes = {"laboratory": "Lab Test", "survey": "Survey"}
    measurement = pd.DataFrame(
        {
            "person_id": [int(p) for p, *_ in facts.values],
            "measurement_concept_id": [
                concept("LOINC", code, d, classes.get(cat, "Clinical Observation"))
                for _, cat, code, d, _, _ in facts.values
            ],
            "measurement_datetime": [_when(i) for i in range(len(facts.values))],
            "measurement_date": [_when(i)[:10] for i in range(len(facts.values))],
            "value_as_number": [value for *_, value, _ in facts.values],
            "unit_concept_id": [concept("UCUM", u, u, "Unit") for *_, u in facts.values],
        }
    )
    table = pd.DataFrame(
        [(cid, name, vocabulary, cls, code) for (vocabulary, code), (cid, name, cls) in concepts.items()],
        columns=["concept_id", "concept_name", "vocabulary_id", "concept_class_id", "concept_code"],
    )  # fmt: skip
    tables = {"concept": table, "person": person, "condition_occurrence": conditions}
    if facts.drugs:
        tables["drug_exposure"] = drugs
    if facts.values:
        tables["measurement"] = measurement
    return read_omop(tables)


Reader = Callable[[Facts, Path], kgmed.Records]
READERS: dict[str, Reader] = {"synthea": as_synthea, "fhir": as_fhir, "omop": as_omop}

#: Where each reader counts the conditions of :class:`Facts`, in its report.
CONDITION_FILE = {"synthea": "conditions.csv", "fhir": "input", "omop": "condition_occurrence"}

SINUSITIS = ("444814009", "Viral sinusitis (disorder)")

FACTS = Facts(
    births={"1": "1970-01-01", "2": "2015-01-01"},
    conditions=[
        ("1", *SINUSITIS, "2020-01-02"),
        ("1", "160903007", "Full-time employment (finding)", "2020-01-02"),
        ("1", "6525002", "Dependent drug abuse (disorder)", "2020-01-02"),
        ("2", "49727002", "Cough (finding)", "2020-01-02"),
    ],
    drugs=[("1", "308182", "Amoxicillin 250 MG Oral Capsule", SINUSITIS[0])],
    values=[
        ("1", "laboratory", "4548-4", "Hemoglobin A1c", 7.1, "%"),
        ("1", "laboratory", "4548-4", "Hemoglobin A1c", 5.0, "%"),
        ("1", "laboratory", "4548-4", "Hemoglobin A1c", 53.0, "mmol/mol"),
        ("1", "vital-signs", "29463-7", "Body Weight", 80.0, "kg"),
        ("2", "vital-signs", "39156-5", "Body Mass Index", 15.0, "kg/m2"),
        ("1", "laboratory", "33914-3", "Glomerular filtration rate", 45.0, "mL/min/{1.73_m2}"),
        ("1", "survey", "55758-7", "PHQ-2 total score", 3.0, "{score}"),
    ],
)


@pytest.fixture(scope="module")
def read(tmp_path_factory: pytest.TempPathFactory) -> dict[str, kgmed.Records]:
    return {
        name: reader(FACTS, tmp_path_factory.mktemp(name) / "export")
        for name, reader in READERS.items()
    }


def _facts(records: kgmed.Records) -> set[tuple[str, str, str]]:
    data = records.data
    return set(zip(data["patient_id"], data["concept_id"], data["kind"], strict=True))


# -- the same facts, the same Records -----------------------------------------------------


@pytest.mark.parametrize("name", list(READERS))
def test_every_reader_reads_the_facts_alike(read: dict[str, kgmed.Records], name: str) -> None:
    assert _facts(read[name]) == {
        ("1", "SNOMEDCT:444814009", "disease"),
        # A disorder is never social, whatever its words.
        ("1", "SNOMEDCT:6525002", "disease"),
        ("2", "SNOMEDCT:49727002", "symptom"),
        ("1", "local:amoxicillin", "treatment"),
        ("1", "local:hba1c_high", "finding"),
        # eGFR in mL/min/{1.73_m2}, an alias of its range's unit.
        ("1", "local:egfr_low", "finding"),
    }


#: Conditions as older Synthea versions write them, without a semantic tag.
UNTAGGED = Facts(
    births={"1": "1970-01-01", "2": "1990-01-01"},
    conditions=[
        ("1", "840544004", "Suspected COVID-19", "2020-03-02"),
        ("1", "840539006", "COVID-19", "2020-03-02"),
        ("2", "840544004", "Suspected COVID-19", "2020-03-02"),
        ("2", "72892002", "Normal pregnancy", "2019-05-02"),
        ("2", "398254007", "Preeclampsia", "2019-08-02"),
        ("2", "428251008", "History of appendectomy", "2019-08-02"),
    ],
)


@pytest.mark.parametrize("name", list(READERS))
def test_every_reader_gives_an_untagged_code_the_kind_its_tag_gives(
    name: str, tmp_path: Path
) -> None:
    records = READERS[name](UNTAGGED, tmp_path / "export")
    kinds = dict(zip(records.data["label"], records.data["kind"], strict=True))
    assert kinds == {
        "Suspected COVID-19": "finding",
        "COVID-19": "disease",
        "Normal pregnancy": "finding",
        "Preeclampsia": "disease",
        "History of appendectomy": "finding",
    }


@pytest.mark.parametrize("name", list(READERS))
def test_every_reader_names_its_reasons_alike(read: dict[str, kgmed.Records], name: str) -> None:
    assert read[name].report.dropped == {
        # Full-time employment, and the questionnaire score of the survey category.
        "social": 2,
        "measurement in range": 1,
        "measurement unit mismatch": 1,
        "measurement without reference range": 1,
        "measurement of a patient under 18": 1,
    }
    assert read[name].report.measurements == {
        "flagged": 2,
        "in range": 1,
        "no range": 1,
        "unit mismatch": 1,
        "under 18": 1,
    }


def test_every_reader_fills_the_same_measurements(read: dict[str, kgmed.Records]) -> None:
    tables = {}
    for name, records in read.items():
        measurements = records.measurements
        assert measurements is not None
        assert tuple(measurements.columns[: len(MEASUREMENT_COLUMNS)]) == MEASUREMENT_COLUMNS
        columns = ["patient_id", "time", "concept_id", "value", "unit", "status", "finding"]
        tables[name] = measurements[columns].sort_values("time", ignore_index=True)
    pd.testing.assert_frame_equal(tables["synthea"], tables["fhir"])
    pd.testing.assert_frame_equal(tables["synthea"], tables["omop"])
    # Judged by hand: the statuses of the values in the order written, the
    # survey score left out as social.
    synthea = tables["synthea"]
    assert synthea["status"].tolist() == [
        "flagged",
        "in range",
        "unit mismatch",
        "no range",
        "under 18",
        "flagged",
    ]
    # A finding only where the value became one: not for the child's BMI.
    assert synthea["finding"].tolist() == ["HbA1c high", *[pd.NA] * 4, "eGFR low"]
    assert synthea["concept_id"].iloc[0] == "LOINC:4548-4"


@pytest.mark.parametrize("name", list(READERS))
def test_a_date_that_does_not_parse_is_counted_and_the_fact_kept(tmp_path: Path, name: str) -> None:
    facts = Facts(
        births={"1": "1970-01-01"},
        conditions=[("1", *SINUSITIS, "2020-13-45"), ("1", "49727002", "Cough (finding)", "2020-01-02")],
    )  # fmt: skip
    records = READERS[name](facts, tmp_path / "export")
    times = records.data.set_index("concept_id")["time"]
    assert pd.isna(times["SNOMEDCT:444814009"])
    assert times["SNOMEDCT:49727002"] == pd.Timestamp("2020-01-02", tz="UTC")
    report = records.report
    assert report.files[CONDITION_FILE[name]]["dates not parsed"] == 1
    assert report.n_read == report.n_kept == 2
    (note,) = [n for n in report.notes if "not dates" in n]
    assert note.startswith(CONDITION_FILE[name])
    assert "such as '2020-13-45' at " in note
    assert "kept without a time" in note


@pytest.mark.parametrize("name", list(READERS))
def test_a_birth_date_that_does_not_parse_leaves_an_adult(tmp_path: Path, name: str) -> None:
    facts = Facts(
        births={"1": "1999-13-45"},
        conditions=[("1", *SINUSITIS, "2020-01-02")],
        values=[("1", "vital-signs", "39156-5", "Body Mass Index", 15.0, "kg/m2")],
    )
    records = READERS[name](facts, tmp_path / "export")
    assert "local:bmi_low" in set(records.data["concept_id"])
    notes = records.report.notes
    assert any("'1999-13-45'" in n and "judged as adults'" in n for n in notes), notes
    assert any(n.startswith("1 measurements are of patients with no birth date") for n in notes)


#: Each reader called on input it never gets to read: options are checked first.
CALLS: dict[str, Callable[..., kgmed.Records]] = {
    "synthea": lambda **options: read_synthea("no such folder", **options),
    "fhir": lambda **options: read_fhir({"resourceType": "Patient", "id": "1"}, **options),
    "omop": lambda **options: read_omop({}, **options),
}


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("basket", "visit"),
        ("social", "no"),
        ("ingredients", 1),
        ("adult_age", 0),
        ("adult_age", "18"),
        ("ranges", {"4548-4": (0, 6.5)}),
    ],
)
def test_every_reader_refuses_the_same_options(name: str, option: str, value: object) -> None:
    with pytest.raises(kgmed.ParameterError, match=f"{option}"):
        CALLS[name](**{option: value})


def test_allergies_are_the_same_findings_from_synthea_and_fhir(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "conditions.csv").write_text(
        "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n2020-01-02,,1,e1,444814009,"
        "Viral sinusitis (disorder)\n",
        encoding="utf-8",
    )
    (folder / "allergies.csv").write_text(
        "START,STOP,PATIENT,ENCOUNTER,CODE,SYSTEM,DESCRIPTION,TYPE,CATEGORY\n"
        "2020-01-02,,1,e1,762952008,SNOMED-CT,Peanut (substance),allergy,food\n"
        "2020-01-02,,1,e1,29046,RxNorm,Lisinopril,intolerance,medication\n"
        "2020-01-02,,1,e1,419199007,SNOMED-CT,Allergy to substance (finding),allergy,x\n",
        encoding="utf-8",
    )
    synthea = read_synthea(folder)
    systems = {"SNOMED-CT": SNOMED, "RxNorm": RXNORM}
    allergies = pd.read_csv(folder / "allergies.csv", dtype=str)
    resources = [{"resourceType": "Patient", "id": "1"}] + [
        {
            "resourceType": "AllergyIntolerance",
            "id": f"a{i}",
            "patient": {"reference": "Patient/1"},
            "type": row["TYPE"],
            "recordedDate": row["START"],
            "code": {
                "coding": [
                    {"system": systems[row["SYSTEM"]], "code": row["CODE"], "display": row["DESCRIPTION"]}
                ]
            },
        }
        for i, row in allergies.iterrows()
    ]  # fmt: skip
    fhir = read_fhir(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": r} for r in resources],
        }
    )
    columns = ["patient_id", "concept_id", "label", "kind", "time"]
    findings = synthea.data.loc[synthea.data["kind"] == "finding", columns]
    # The same values; each reader's columns have the categories of its own records.
    pd.testing.assert_frame_equal(
        findings.reset_index(drop=True), fhir.data[columns], check_categorical=False
    )
    assert findings["concept_id"].tolist() == [
        "local:allergy_to_peanut",
        "local:intolerance_to_lisinopril",
        "SNOMEDCT:419199007",
    ]
    assert fhir.report.files["input"]["AllergyIntolerance"] == 3


# -- the six patients of synthea_csv_59_ca, from FHIR and from CSV -----------------------------


@pytest.fixture(scope="module")
def six(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, kgmed.Records]:
    """The six patients' bundles read with read_fhir, and their CSV rows with read_synthea."""
    root = shared_data / "synthea_csv_59_ca"
    bundles = sorted((root / "fhir_r4").glob("*.json"))
    patients = set()
    for path in bundles:
        with path.open(encoding="utf-8") as f:
            patients.add(json.load(f)["entry"][0]["resource"]["id"])
    folder = tmp_path_factory.mktemp("six")
    for path in (root / "csv").glob("*.csv"):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        column = "Id" if path.stem == "patients" else "PATIENT"
        if column in table:
            table = table[table[column].isin(patients)]
        table.to_csv(folder / path.name, index=False)
    return {"fhir": read_fhir(bundles), "synthea": read_synthea(folder)}


@pytest.mark.shared_data
def test_the_six_patients_have_the_same_concepts_from_fhir_and_csv(
    six: dict[str, kgmed.Records],
) -> None:
    fhir, synthea = _facts(six["fhir"]), _facts(six["synthea"])
    assert fhir == synthea
    assert len(fhir) == 55
    assert {p for p, _, _ in fhir} == set(six["fhir"].data["patient_id"])
    assert len({p for p, _, _ in fhir}) == 6
    kinds = {kind for _, _, kind in fhir}
    assert kinds == {"disease", "treatment", "finding", "procedure"}


@pytest.mark.shared_data
def test_the_six_patients_are_the_same_people_from_fhir_and_csv(
    six: dict[str, kgmed.Records],
) -> None:
    fhir, synthea = six["fhir"].patients, six["synthea"].patients
    assert fhir is not None
    assert synthea is not None
    pd.testing.assert_frame_equal(fhir.sort_index(), synthea.sort_index())
    assert fhir["age"].notna().all()
    assert set(fhir["sex"]) == {"female", "male"}


@pytest.mark.parametrize("name", list(READERS))
def test_every_reader_knows_who_the_patients_are(read: dict[str, kgmed.Records], name: str) -> None:
    patients = read[name].patients
    assert patients is not None
    # Born 1970-01-01 and 2015-01-01, last seen in January 2020.
    assert patients["age"].to_dict() == {"1": 50.0, "2": 5.0}


@pytest.mark.shared_data
def test_the_six_patients_have_the_same_recorded_reasons_from_fhir_and_csv(
    six: dict[str, kgmed.Records],
) -> None:
    def reasons(records: kgmed.Records) -> set[tuple[str, str, str]]:
        data = records.data[records.data["reason_id"].notna()]
        return set(zip(data["patient_id"], data["concept_id"], data["reason_id"], strict=True))

    fhir = reasons(six["fhir"])
    assert fhir == reasons(six["synthea"])
    assert len(fhir) == 13
    # Drugs and procedures both carry their reasons.
    assert {c.split(":")[0] for _, c, _ in fhir} == {"local", "SNOMEDCT"}


@pytest.mark.shared_data
def test_the_six_patients_have_the_same_measurements_from_fhir_and_csv(
    six: dict[str, kgmed.Records],
) -> None:
    fhir, synthea = six["fhir"].measurements, six["synthea"].measurements
    assert fhir is not None
    assert synthea is not None
    # Synthea's own QALY, DALY and QOLS scores are written to the CSV export only.
    own = synthea["concept_id"].isin(["local:qaly", "local:daly", "local:qols"])
    assert own.sum() == 111
    synthea = synthea.loc[~own]
    key = ["patient_id", "time", "concept_id"]
    joined = fhir.merge(synthea, on=key, how="outer", suffixes=("", "_csv"), indicator=True)
    assert (joined["_merge"] == "both").all()
    assert len(joined) == len(fhir) == 668
    assert (joined["unit"] == joined["unit_csv"]).all()
    # The CSV export rounds values to one decimal, FHIR keeps two.
    assert ((joined["value"] - joined["value_csv"]).abs() <= 0.05 + 1e-9).all()
    same = joined["status"] == joined["status_csv"]
    assert (joined["finding"].fillna("") == joined["finding_csv"].fillna(""))[same].all()
    # A status differs only where that rounding moved a value across a bound.
    for code, ours, theirs in joined.loc[~same, ["concept_id", "value", "value_csv"]].itertuples(
        index=False
    ):
        rng = REFERENCE_RANGES[code.removeprefix("LOINC:")]
        bounds = [b for b in (rng.low, rng.high) if b is not None]
        assert any(min(ours, theirs) <= b <= max(ours, theirs) for b in bounds)
    assert (~same).sum() <= 3
    # ...and each status is what the shared ranges say of the value.
    judged = flag_observations(
        pd.DataFrame(
            {
                "code": joined["concept_id"].str.removeprefix("LOINC:"),
                "value": joined["value"],
                "unit": joined["unit"],
            }
        )
    )
    adult = joined["status"] != "under 18"
    assert (judged["status"] == joined["status"])[adult].all()
