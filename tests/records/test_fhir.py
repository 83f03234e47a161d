"""read_fhir: FHIR R4 Bundles and NDJSON bulk exports, good, odd and broken."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kgmed
from kgmed import (
    EmptyRecordsError,
    ParameterError,
    RecordsError,
    RecordsFileError,
    RecordsFileNotFound,
)
from kgmed.records import MEASUREMENT_COLUMNS
from kgmed.records.fhir import KEPT_COLUMNS, read_fhir
from kgmed.records.vocab import (
    REFERENCE_RANGES,
    ReferenceRange,
    flag_observations,
    ingredients,
    is_social,
    strip_semantic_tag,
)

ROOT = Path(__file__).resolve().parents[2]
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"

Json = dict[str, Any]


# -- building blocks ------------------------------------------------------------------


def concept(system: str | None, code: str, display: str | None = None) -> Json:
    coding: Json = {"code": code}
    if system is not None:
        coding["system"] = system
    if display is not None:
        coding["display"] = display
    return {"coding": [coding]}


def patient(pid: str = "p1") -> Json:
    return {"resourceType": "Patient", "id": pid}


def encounter(eid: str = "e1", pid: str = "p1") -> Json:
    return {"resourceType": "Encounter", "id": eid, "subject": {"reference": f"Patient/{pid}"}}


def condition(
    cid: str,
    code: str,
    display: str,
    *,
    pid: str = "p1",
    eid: str | None = None,
    onset: str | None = "2020-01-02T10:00:00Z",
    system: str | None = SNOMED,
) -> Json:
    resource: Json = {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": f"Patient/{pid}"},
        "code": concept(system, code, display),
    }
    if eid is not None:
        resource["encounter"] = {"reference": f"Encounter/{eid}"}
    if onset is not None:
        resource["onsetDateTime"] = onset
    return resource


def prescription(
    mid: str,
    code: str,
    display: str,
    *,
    pid: str = "p1",
    eid: str | None = None,
    reason: str | None = None,
    kind: str = "MedicationRequest",
) -> Json:
    resource: Json = {
        "resourceType": kind,
        "id": mid,
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": concept(RXNORM, code, display),
    }
    if eid is not None:
        resource["encounter"] = {"reference": f"Encounter/{eid}"}
    if reason is not None:
        resource["reasonReference"] = [{"reference": reason}]
    return resource


def measurement(
    oid: str,
    code: str,
    display: str,
    value: float,
    unit: str,
    *,
    pid: str = "p1",
    eid: str | None = None,
    category: str = "laboratory",
) -> Json:
    resource: Json = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"code": category}]}],
        "subject": {"reference": f"Patient/{pid}"},
        "code": concept(LOINC, code, display),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        "effectiveDateTime": "2020-01-02T10:00:00Z",
    }
    if eid is not None:
        resource["encounter"] = {"reference": f"Encounter/{eid}"}
    return resource


def answer(
    oid: str, question: str, code: str, display: str, *, category: str = "exam", pid: str = "p1"
) -> Json:
    return {
        "resourceType": "Observation",
        "id": oid,
        "category": [{"coding": [{"code": category}]}],
        "subject": {"reference": f"Patient/{pid}"},
        "code": concept(LOINC, "00000-0", question),
        "valueCodeableConcept": concept(SNOMED, code, display),
    }


def bundle(*resources: Json, kind: str = "collection", urls: bool = False) -> Json:
    entries = []
    for resource in resources:
        entry: Json = {"resource": resource}
        if urls:
            entry["fullUrl"] = f"urn:uuid:{resource['id']}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def rows(records: kgmed.Records, *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in records.data[list(columns)].itertuples(index=False)]


def balanced(records: kgmed.Records) -> bool:
    report = records.report
    return report.n_read == report.n_kept + report.n_dropped


def write_json(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def write_ndjson(path: Path, resources: list[Json]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    return path


# -- what is read ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["transaction", "collection", "searchset", "batch"])
def test_reads_conditions_drugs_and_their_reasons(kind: str) -> None:
    records = read_fhir(
        bundle(
            patient(),
            condition("c1", "444814009", "Viral sinusitis (disorder)"),
            condition("c2", "271737000", "Anemia (disorder)"),
            prescription("m1", "308182", "Amoxicillin 250 MG Oral Capsule", reason="Condition/c1"),
            kind=kind,
        )
    )
    assert rows(records, "patient_id", "concept_id", "label", "kind", "reason_id") == [
        ("p1", "SNOMEDCT:444814009", "Viral sinusitis", "disease", pd.NA),
        ("p1", "SNOMEDCT:271737000", "Anemia", "disease", pd.NA),
        ("p1", "local:amoxicillin", "amoxicillin", "treatment", "SNOMEDCT:444814009"),
    ]
    assert records.data["time"].iloc[0] == pd.Timestamp("2020-01-02 10:00", tz="UTC")
    assert records.data.loc[2, "product"] == "Amoxicillin 250 MG Oral Capsule"
    assert records.data.loc[2, "product_code"] == "RXNORM:308182"
    assert list(records.data.columns[-len(KEPT_COLUMNS) :]) == list(KEPT_COLUMNS)
    assert balanced(records)


def test_recorded_reasons_become_recorded_treated_with_edges() -> None:
    resources: list[Json] = []
    for i in range(12):
        resources += [
            patient(f"p{i}"),
            condition(f"c{i}", "43878008", "Streptococcal sore throat (disorder)", pid=f"p{i}"),
            prescription(
                f"m{i}",
                "834061",
                "Penicillin V Potassium 250 MG Oral Tablet",
                pid=f"p{i}",
                reason=f"urn:uuid:c{i}",
            ),
        ]
    records = read_fhir(bundle(*resources, urls=True))
    table = kgmed.recorded_reasons(records)
    assert table.to_dict("records") == [
        {"source": "SNOMEDCT:43878008", "target": "local:penicillin_v", "n_recorded": 12}
    ]
    kg = kgmed.build(records, min_confidence=0.0)
    edge = kg.edges("treated_with").iloc[0]
    assert (edge["source"], edge["target"]) == ("SNOMEDCT:43878008", "local:penicillin_v")
    assert "recorded" in edge["provenance"]


def test_resolves_every_kind_of_reference() -> None:
    cond = condition("c1", "10509002", "Acute bronchitis (disorder)")
    cond["subject"] = {"reference": "urn:uuid:aaa"}
    cond["encounter"] = {"reference": "https://example.org/fhir/Encounter/e1/_history/3"}
    drug = prescription("m1", "313782", "Acetaminophen 325 MG Oral Tablet")
    drug["subject"] = {"reference": "https://example.org/fhir/Patient/p1"}
    drug["encounter"] = {"reference": "urn:uuid:bbb"}
    drug["reasonReference"] = [{"reference": "urn:uuid:ccc"}]
    records = read_fhir(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {"fullUrl": "urn:uuid:aaa", "resource": patient()},
                {"fullUrl": "urn:uuid:bbb", "resource": encounter()},
                {"fullUrl": "urn:uuid:ccc", "resource": cond},
                {"fullUrl": "urn:uuid:ddd", "resource": drug},
            ],
        }
    )
    assert rows(records, "patient_id", "encounter_id", "reason_id") == [
        ("p1", "e1", pd.NA),
        ("p1", "e1", "SNOMEDCT:10509002"),
    ]
    assert records.report.files["input"]["unresolved references"] == 0


def test_medication_references_and_contained_medications() -> None:
    medication = {
        "resourceType": "Medication",
        "id": "med1",
        "code": concept(RXNORM, "314076", "lisinopril 10 MG Oral Tablet"),
    }
    by_reference = {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "subject": {"reference": "Patient/p1"},
        "medicationReference": {"reference": "Medication/med1"},
        "reasonCode": [concept(SNOMED, "59621000", "Essential hypertension (disorder)")],
        "context": {"reference": "Encounter/e1"},
        "effectivePeriod": {"start": "2020-05-01T08:00:00+02:00"},
    }
    contained = {
        "resourceType": "MedicationRequest",
        "id": "r1",
        "contained": [{"resourceType": "Medication", "id": "x", "code": concept(RXNORM, "860975")}],
        "subject": {"reference": "Patient/p1"},
        "medicationReference": {"reference": "#x"},
    }
    records = read_fhir([bundle(patient(), encounter(), by_reference), contained, medication])
    assert rows(records, "concept_id", "reason_id", "product_code", "encounter_id") == [
        ("local:lisinopril", "SNOMEDCT:59621000", "RXNORM:314076", "e1"),
        # No display to take an ingredient from: the product's code stands.
        ("RXNORM:860975", pd.NA, "RXNORM:860975", pd.NA),
    ]
    assert records.data.loc[0, "time"] == pd.Timestamp("2020-05-01 06:00", tz="UTC")
    assert records.report.files["input[2]"]["Medication"] == 1


def test_combination_products_give_each_ingredient_and_count_as_read() -> None:
    product = "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet"
    records = read_fhir(bundle(patient(), prescription("m1", "562251", product)))
    assert rows(records, "concept_id", "product") == [
        ("local:amoxicillin", product),
        ("local:clavulanate", product),
    ]
    assert (records.report.n_read, records.report.n_kept) == (2, 2)


def test_products_stay_products_without_ingredients() -> None:
    product = "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet"
    records = read_fhir(bundle(patient(), prescription("m1", "562251", product)), ingredients=False)
    assert rows(records, "concept_id", "label", "kind", "product") == [
        ("RXNORM:562251", product, "treatment", product)
    ]


def test_picks_the_preferred_system_of_several_codings() -> None:
    cond = condition("c1", "38341003", "Hypertension (disorder)")
    cond["code"]["coding"].insert(0, {"system": ICD10CM, "code": "I10", "display": "HTN"})
    lab = measurement("o1", "4548-4", "Hemoglobin A1c", 8.0, "%")
    lab["code"]["coding"].insert(0, {"system": SNOMED, "code": "43396009"})
    icd_only = condition("c2", "J45.909", "Asthma", system=ICD10CM)
    records = read_fhir(bundle(patient(), cond, lab, icd_only))
    assert rows(records, "concept_id", "label") == [
        ("SNOMEDCT:38341003", "Hypertension"),
        ("local:hba1c_high", "HbA1c high"),
        ("ICD10CM:J45.909", "Asthma"),
    ]


def test_codings_without_system_fall_back_to_their_display_and_are_counted() -> None:
    records = read_fhir(bundle(patient(), condition("c1", "x1", "Gout", system=None)))
    assert rows(records, "concept_id", "label", "system", "code") == [
        ("local:gout", "Gout", pd.NA, pd.NA)
    ]
    assert records.report.files["input"]["codings without system"] == 1


def test_unknown_systems_are_counted_and_fall_back_to_the_display() -> None:
    odd = condition("c1", "123", "Gout", system="http://example.org/codes")
    also = condition("c2", "456", "Migraine", system="http://example.org/codes")
    records = read_fhir(bundle(patient(), odd, also))
    assert records.report.unknown_systems == {"http://example.org/codes": 2}
    assert rows(records, "concept_id") == [("local:gout",), ("local:migraine",)]
    assert "unknown system: http://example.org/codes" in str(records.report)


def test_hl7_oids_name_known_systems() -> None:
    records = read_fhir(
        bundle(
            patient(),
            condition("c1", "38341003", "Hypertension", system="urn:oid:2.16.840.1.113883.6.96"),
        )
    )
    assert rows(records, "concept_id") == [("SNOMEDCT:38341003",)]


# -- observations ---------------------------------------------------------------------


def test_numeric_observations_become_findings_outside_their_range() -> None:
    records = read_fhir(
        bundle(
            patient(),
            measurement("o1", "4548-4", "Hemoglobin A1c", 7.1, "%"),
            measurement("o2", "4548-4", "Hemoglobin A1c", 5.2, "%"),
            measurement("o3", "4548-4", "Hemoglobin A1c", 53.0, "mmol/mol"),
            measurement("o4", "8302-2", "Body Height", 180.0, "cm", category="vital-signs"),
            measurement("o5", "2093-3", "Cholesterol", 251.0, "mg/dL"),
        )
    )
    assert rows(records, "concept_id", "label", "kind", "value", "unit") == [
        ("local:hba1c_high", "HbA1c high", "finding", 7.1, "%"),
        ("local:total_cholesterol_high", "total cholesterol high", "finding", 251.0, "mg/dL"),
    ]
    assert records.report.dropped == {
        "measurement in range": 1,
        "measurement unit mismatch": 1,
        "measurement without reference range": 1,
    }
    assert balanced(records)
    measured = records.measurements
    assert measured is not None
    assert list(measured.columns) == list(MEASUREMENT_COLUMNS)
    assert measured[["concept_id", "value", "status", "finding"]].values.tolist() == [
        ["LOINC:4548-4", 7.1, "flagged", "HbA1c high"],
        ["LOINC:4548-4", 5.2, "in range", pd.NA],
        ["LOINC:4548-4", 53.0, "unit mismatch", pd.NA],
        ["LOINC:8302-2", 180.0, "no range", pd.NA],
        ["LOINC:2093-3", 251.0, "flagged", "total cholesterol high"],
    ]
    assert records.report.measurements == {
        "flagged": 2,
        "in range": 1,
        "no range": 1,
        "unit mismatch": 1,
    }
    # The Patient has no birthDate: adult ranges were applied, and the report says so.
    assert records.report.notes == [
        "5 measurements are of patients with no birth date (Patient.birthDate); adult "
        "reference ranges were applied to them"
    ]


@pytest.mark.parametrize(
    ("adult_age", "expected"),
    [
        (18, {"measurement of a patient under 18": 2}),
        (12, {"measurement in range": 1}),
        (None, {"measurement in range": 1}),
    ],
)
def test_a_childs_values_are_not_judged_by_adult_ranges(
    adult_age: float | None, expected: dict[str, int]
) -> None:
    child = {"resourceType": "Patient", "id": "p1", "birthDate": "2006-06-01"}
    bmi = measurement("o1", "39156-5", "Body mass index", 16.0, "kg/m2")  # 2020-01-02: 13 years
    pulse = measurement("o2", "8867-4", "Heart rate", 80.0, "/min")
    bundle_ = bundle(child, bmi, pulse, condition("c1", "1", "Gout"))
    records = read_fhir(bundle_, adult_age=adult_age)
    dropped = {k: v for k, v in records.report.dropped.items() if k.startswith("measurement")}
    assert dropped == expected
    young = adult_age is not None and adult_age > 13
    assert ("local:bmi_low" in set(records.data["concept_id"])) is not young
    # No note of a missing birth date; the patient's age is known, their gender not.
    assert records.report.notes == ["Patient: age known for 1 of 1 patients, sex for 0"]
    assert records.patients is not None
    assert records.patients["age"].tolist() == [13.0]


def test_who_the_patients_are_comes_from_their_patient_resources() -> None:
    people = [
        {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1980-06-01"},
        # Aged at death, before their last condition; FHIR's "unknown" is no sex.
        {
            "resourceType": "Patient",
            "id": "p2",
            "gender": "unknown",
            "birthDate": "1950-01-01",
            "deceasedDateTime": "2019-12-31T23:00:00Z",
        },
        {"resourceType": "Patient", "id": "p3", "gender": "other"},
        {"resourceType": "Patient", "id": "p4", "gender": "male", "birthDate": "1990-01-01"},
    ]
    conditions = [
        condition("c1", "1", "Gout", onset="2020-05-31"),
        condition("c2", "1", "Gout", pid="p2", onset="2021-01-01"),
        condition("c3", "1", "Gout", pid="p3"),
    ]
    records = read_fhir(bundle(*people, *conditions))
    patients = records.patients
    assert patients is not None
    assert patients.index.tolist() == ["p1", "p2", "p3"]  # p4 has no observation
    assert patients["age"].tolist()[:2] == [39.0, 69.0]
    assert pd.isna(patients.loc["p3", "age"])
    assert patients["sex"].tolist()[::2] == ["female", "other"]
    assert pd.isna(patients.loc["p2", "sex"])
    assert "Patient: age known for 2 of 3 patients, sex for 2" in records.report.notes


def test_a_gender_fhir_does_not_allow_is_an_error() -> None:
    person = {"resourceType": "Patient", "id": "p1", "gender": "F"}
    with pytest.raises(RecordsError, match="gender 'F' is none of FHIR's administrative genders"):
        read_fhir(bundle(person, condition("c1", "1", "Gout")))


def test_without_patient_resources_nothing_is_known_of_the_patients() -> None:
    assert read_fhir(bundle(condition("c1", "1", "Gout"))).patients is None


def test_a_birth_date_that_does_not_parse_is_noted_without_the_patient_id() -> None:
    born = {"resourceType": "Patient", "id": "jane-doe-1234", "birthDate": "June 2006"}
    bmi = measurement("o1", "39156-5", "Body mass index", 16.0, "kg/m2", pid="jane-doe-1234")
    records = read_fhir(bundle(born, bmi, condition("c1", "1", "Gout", pid="jane-doe-1234")))
    notes = " ".join(records.report.notes)
    assert "'June 2006'" in notes
    assert "a Patient resource" in notes
    assert "jane-doe-1234" not in notes
    assert "jane-doe-1234" not in str(records.report)


def test_reference_ranges_can_be_the_users_own() -> None:
    height = measurement("o1", "8302-2", "Body Height", 201.0, "cm")
    tall = {"8302-2": ReferenceRange("height", "cm", high=200)}
    records = read_fhir(bundle(patient(), height), ranges=tall)
    assert rows(records, "concept_id") == [("local:height_high",)]


def test_panels_read_each_component() -> None:
    pressure = {
        "resourceType": "Observation",
        "id": "bp",
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "subject": {"reference": "Patient/p1"},
        "code": concept(LOINC, "85354-9", "Blood Pressure"),
        "component": [
            {
                "code": concept(LOINC, "8462-4", "Diastolic Blood Pressure"),
                "valueQuantity": {"value": 95, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
            },
            {
                "code": concept(LOINC, "8480-6", "Systolic Blood Pressure"),
                "valueQuantity": {"value": 150, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
            },
        ],
    }
    records = read_fhir(bundle(patient(), pressure))
    assert rows(records, "label", "value") == [
        ("diastolic blood pressure high", 95.0),
        ("systolic blood pressure high", 150.0),
    ]
    assert records.report.n_read == 2


def test_coded_answers_are_findings_and_qualifiers_alone_are_not() -> None:
    records = read_fhir(
        bundle(
            patient(),
            answer("o1", "Symptom", "267036007", "Dyspnea (finding)"),
            answer("o2", "Influenza A RNA", "260385009", "Negative (qualifier value)"),
            answer("o3", "Influenza B RNA", "10828004", "Positive"),
            answer("o4", "Cause of death", "110030002", "Concussion injury of brain"),
            condition("c1", "110030002", "Concussion injury of brain"),
        )
    )
    assert rows(records, "concept_id", "kind") == [
        ("SNOMEDCT:267036007", "symptom"),
        # Untagged, an answer is a finding; the condition of the same code says disease.
        ("SNOMEDCT:110030002", "disease"),
        ("SNOMEDCT:110030002", "disease"),
    ]
    assert records.report.dropped == {"observation qualifier value": 2}


def test_observations_without_a_usable_value_are_counted() -> None:
    no_value = {**measurement("o1", "4548-4", "Hemoglobin A1c", 1.0, "%")}
    del no_value["valueQuantity"]
    text_value = {**no_value, "id": "o2", "valueString": "high"}
    records = read_fhir(
        bundle(patient(), no_value, text_value, condition("c1", "38341003", "Hypertension"))
    )
    assert records.report.dropped == {
        "observation without value": 1,
        "observation value not numeric or coded": 1,
    }


@pytest.mark.parametrize("category", ["survey", "social-history"])
def test_survey_and_social_history_answers_are_left_out_unless_asked(category: str) -> None:
    smoking = answer("o1", "Tobacco smoking status", "266919005", "Never smoker", category=category)
    employed = condition("c1", "160903007", "Full-time employment (finding)")
    sick = condition("c2", "444814009", "Viral sinusitis (disorder)")
    records = read_fhir(bundle(patient(), smoking, employed, sick))
    assert rows(records, "concept_id") == [("SNOMEDCT:444814009",)]
    assert records.report.dropped == {"social": 2}
    kept = read_fhir(bundle(patient(), smoking, employed, sick), social=True)
    assert set(kept.data["concept_id"]) == {
        "SNOMEDCT:266919005",
        "SNOMEDCT:160903007",
        "SNOMEDCT:444814009",
    }
    assert kept.report.dropped == {}


def test_void_resources_are_dropped_and_counted() -> None:
    refuted = condition("c1", "38341003", "Hypertension (disorder)")
    refuted["verificationStatus"] = concept(None, "refuted")
    wrong = prescription("m1", "313782", "Acetaminophen 325 MG Oral Tablet")
    wrong["status"] = "entered-in-error"
    skipped = {
        "resourceType": "Procedure",
        "id": "x1",
        "status": "not-done",
        "subject": {"reference": "Patient/p1"},
        "code": concept(SNOMED, "80146002", "Appendectomy (procedure)"),
    }
    done = {**skipped, "id": "x2", "status": "completed"}
    records = read_fhir(
        bundle(patient(), refuted, wrong, skipped, done, condition("c2", "1", "Gout"))
    )
    assert rows(records, "label", "kind") == [("Appendectomy", "procedure"), ("Gout", "disease")]
    assert records.report.dropped == {"void": 3}


# -- baskets --------------------------------------------------------------------------


def test_encounter_baskets_use_encounter_references() -> None:
    resources = [
        patient(),
        encounter("e1"),
        encounter("e2"),
        condition("c1", "444814009", "Viral sinusitis (disorder)", eid="e1"),
        prescription("m1", "308182", "Amoxicillin 250 MG Oral Capsule", eid="e1"),
        condition("c2", "10509002", "Acute bronchitis (disorder)", eid="e2"),
        condition("c3", "38341003", "Hypertension (disorder)"),
    ]
    records = read_fhir(bundle(*resources), basket="encounter")
    assert records.basket == "encounter"
    assert rows(records, "encounter_id", "concept_id") == [
        ("e1", "SNOMEDCT:444814009"),
        ("e1", "local:amoxicillin"),
        ("e2", "SNOMEDCT:10509002"),
    ]
    assert records.report.dropped == {"no encounter": 1}
    matrix = kgmed.transactions(records)
    assert matrix.matrix.shape[0] == 2
    # Per patient, the visit-less condition is kept.
    assert len(read_fhir(bundle(*resources))) == 4


# -- bad input ------------------------------------------------------------------------


def test_a_file_that_is_not_json_names_the_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"resourceType": "Bundle",\n "entry": [\n  {"resource": }\n]}', "utf-8")
    with pytest.raises(RecordsFileError, match=r"broken\.json: is not JSON: .* line 3, column 16"):
        read_fhir(path)


def test_a_truncated_bundle_is_a_file_error(tmp_path: Path) -> None:
    text = json.dumps(bundle(patient(), condition("c1", "1", "Gout")))
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2], "utf-8")
    with pytest.raises(RecordsFileError, match=r"cut\.json: is not JSON"):
        read_fhir(path)


def test_a_bad_ndjson_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "Condition.ndjson"
    good = json.dumps(condition("c1", "1", "Gout"))
    path.write_text(f"{good}\n\n{good[:-5]}\n", "utf-8")
    with pytest.raises(RecordsFileError, match=r"Condition\.ndjson: line 3 is not JSON"):
        read_fhir(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("[1, 2]", "the top level is no object"),
        ('{"hello": "world"}', "the top level is an object without 'resourceType'"),
    ],
)
def test_json_that_is_not_fhir_is_a_file_error(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(content, "utf-8")
    with pytest.raises(RecordsFileError, match=f"other.json: is JSON but not FHIR: {match}"):
        read_fhir(path)


def test_latin1_text_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.json"
    path.write_bytes(json.dumps(bundle(patient())).replace("p1", "p\xe9").encode("latin-1"))
    with pytest.raises(RecordsFileError, match=r"latin\.json: is not UTF-8"):
        read_fhir(path)


def test_missing_paths_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(RecordsFileNotFound, match=r"nope\.json: no such file"):
        read_fhir(tmp_path / "nope.json")
    (tmp_path / "notes.txt").write_text("not FHIR", "utf-8")
    with pytest.raises(EmptyRecordsError, match=r"holds no \.json, \.ndjson or \.jsonl file"):
        read_fhir(tmp_path)


def test_empty_bundles_are_counted_and_nothing_at_all_is_an_error(tmp_path: Path) -> None:
    empty = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    with pytest.raises(EmptyRecordsError, match=r"input: no Condition.*1 empty bundles"):
        read_fhir(empty)
    records = read_fhir([empty, bundle(patient(), condition("c1", "1", "Gout"))])
    assert records.report.files["input[0]"]["empty bundles"] == 1
    (tmp_path / "empty.ndjson").write_text("", "utf-8")
    with pytest.raises(EmptyRecordsError, match="1 empty files"):
        read_fhir(tmp_path / "empty.ndjson")


def test_nothing_kept_is_an_error_that_says_why() -> None:
    job = condition("c1", "160903007", "Full-time employment (finding)")
    with pytest.raises(EmptyRecordsError, match=r"no observation kept of 1 read .*1 social"):
        read_fhir(bundle(patient(), job))


def test_unsupported_resource_types_are_counted_per_type() -> None:
    claims = [{"resourceType": "Claim", "id": f"k{i}"} for i in range(3)]
    records = read_fhir(
        bundle(
            patient(),
            *claims,
            {"resourceType": "Immunization", "id": "i1"},
            {"resourceType": "NotAThing", "id": "n1"},
            condition("c1", "1", "Gout"),
        )
    )
    counts = records.report.files["input"]
    assert counts["unsupported Claim"] == 3
    assert counts["unsupported Immunization"] == 1
    assert counts["unsupported NotAThing"] == 1
    assert (counts["entries"], counts["Patient"], counts["Condition"]) == (7, 1, 1)
    assert records.report.n_read == 1


def test_entries_without_resources_are_counted() -> None:
    batch = bundle(patient(), condition("c1", "1", "Gout"))
    batch["entry"] += [{"request": {"method": "DELETE", "url": "Patient/p9"}}, {"resource": 3}]
    counts = read_fhir(batch).report.files["input"]
    assert counts["entries without resource"] == 2
    assert counts["entries"] == 4


def test_dates_that_do_not_parse_are_counted_and_left_empty() -> None:
    records = read_fhir(
        bundle(
            patient(),
            condition("c1", "1", "Gout", onset="last Tuesday"),
            condition("c2", "2", "Asthma", onset="2019-02"),
            condition("c3", "3", "Eczema", onset="2019-02-30"),
        )
    )
    times = records.data.set_index("label")["time"]
    assert pd.isna(times["Gout"])
    assert pd.isna(times["Eczema"])
    assert times["Asthma"] == pd.Timestamp("2019-02-01", tz="UTC")
    assert records.report.files["input"]["dates not parsed"] == 2
    assert len(records) == 3


def test_duplicate_resources_are_read_once() -> None:
    gout = condition("c1", "90560007", "Gout (disorder)")
    records = read_fhir([bundle(patient(), gout), bundle(patient(), gout, gout)])
    assert len(records) == 1
    assert records.report.n_read == 1
    files = records.report.files
    assert files["input[0]"]["duplicate resources"] == 0
    assert files["input[1]"]["duplicate resources"] == 3
    assert files["input[1]"]["Condition"] == 2  # met in the file, read once overall


def test_references_to_resources_not_in_the_input_are_counted() -> None:
    lost = prescription("m1", "313782", "Acetaminophen 325 MG Oral Tablet", reason="Condition/c9")
    lost["encounter"] = {"reference": "urn:uuid:e9"}
    records = read_fhir(bundle(lost))  # no Patient resource either
    assert rows(records, "patient_id", "encounter_id", "reason_id") == [("p1", "e9", pd.NA)]
    assert records.report.files["input"]["unresolved references"] == 3


def test_a_subject_that_is_not_a_patient_is_dropped() -> None:
    group = condition("c1", "1", "Gout")
    group["subject"] = {"reference": "Group/g1"}
    nobody = condition("c2", "2", "Asthma")
    del nobody["subject"]
    records = read_fhir(bundle(group, nobody, condition("c3", "3", "Eczema")))
    assert records.report.dropped == {"subject not a patient": 1, "no patient": 1}
    assert records.data["patient_id"].tolist() == ["p1"]
    assert balanced(records)


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("code", "Gout", "a CodeableConcept should be an object"),
        ("subject", "Patient/p1", "a reference should be an object"),
        ("code", {"coding": ["Gout"]}, "a coding should be an object"),
    ],
)
def test_malformed_resources_name_the_file_and_the_resource(
    tmp_path: Path, field: str, value: Any, what: str
) -> None:
    bad = condition("c7", "1", "Gout")
    bad[field] = value
    path = write_json(tmp_path / "export.json", bundle(patient(), bad))
    with pytest.raises(RecordsError, match=rf"export\.json: entry 2 \(Condition/c7\): .*{what}"):
        read_fhir(path)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"basket": "visit"}, "basket must be one of"),
        ({"social": "yes"}, "social must be True or False"),
        ({"ingredients": None}, "ingredients must be True or False"),
        ({"ranges": {"4548-4": (0, 6.5)}}, "must be a ReferenceRange"),
        ({"ranges": {"4548-4": ReferenceRange("HbA1c", "%")}}, "neither low nor high"),
    ],
)
def test_options_are_checked_before_reading(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        read_fhir(bundle(patient()), **options)


@pytest.mark.parametrize("given", [42, [bundle(patient()), 3.5]])
def test_inputs_of_another_type_are_refused(given: Any) -> None:
    with pytest.raises(ParameterError, match="read_fhir reads paths, folders and parsed JSON"):
        read_fhir(given)


def test_a_dict_that_is_no_resource_is_refused() -> None:
    with pytest.raises(RecordsError, match="input: not a FHIR resource"):
        read_fhir({"entry": []})


# -- NDJSON ---------------------------------------------------------------------------


def test_a_bulk_export_resolves_references_across_files(tmp_path: Path) -> None:
    write_ndjson(tmp_path / "Patient.ndjson", [patient("p1"), patient("p2")])
    write_ndjson(
        tmp_path / "Condition.ndjson",
        [condition("c1", "444814009", "Viral sinusitis (disorder)", pid="p2")],
    )
    write_ndjson(
        tmp_path / "MedicationRequest.ndjson",
        [
            prescription(
                "m1", "308182", "Amoxicillin 250 MG Oral Capsule", pid="p2", reason="Condition/c1"
            )
        ],
    )
    records = read_fhir(tmp_path)
    assert rows(records, "patient_id", "concept_id", "reason_id") == [
        ("p2", "SNOMEDCT:444814009", pd.NA),
        ("p2", "local:amoxicillin", "SNOMEDCT:444814009"),
    ]
    assert records.report.source == tmp_path.name
    assert records.report.files["Patient.ndjson"]["Patient"] == 2
    assert records.report.files["MedicationRequest.ndjson"]["unresolved references"] == 0


def test_one_resource_per_line_under_a_json_name_is_read(tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "export.json", [patient(), condition("c1", "1", "Gout")])
    assert rows(read_fhir(path), "label") == [("Gout",)]


def test_ndjson_lines_that_are_no_resource_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_text(json.dumps(condition("c1", "1", "Gout")) + '\n{"x": 1}\n[2]\n', "utf-8")
    counts = read_fhir(path).report.files["mixed.ndjson"]
    assert (counts["entries"], counts["lines without resource"], counts["Condition"]) == (3, 2, 1)


# -- the Synthea bundles in ../shared/data --------------------------------------------

# From ../shared/data/README.md, section 1b: entries / Condition / MedicationRequest / Observation.
README_COUNTS = {
    "Delmar187": (247, 2, 2, 120),
    "Jorge_Luis88": (84, 0, 0, 47),
    "Levi940": (270, 5, 2, 141),
    "Man114": (249, 9, 1, 108),
    "Mariam937": (245, 1, 0, 136),
    "Maude482": (269, 4, 2, 129),
}


@pytest.fixture(scope="module")
def synthea(shared_data: Path) -> Path:
    return shared_data / "synthea_csv_59_ca"


@pytest.fixture(scope="module")
def bundles(synthea: Path) -> list[Path]:
    return sorted((synthea / "fhir_r4").glob("*.json"))


@pytest.fixture(scope="module")
def raw_bundles(bundles: list[Path]) -> dict[str, Json]:
    parsed = {}
    for path in bundles:
        with path.open(encoding="utf-8") as f:
            parsed[path.name] = json.load(f)
    return parsed


@pytest.fixture(scope="module")
def fhir_records(synthea: Path) -> kgmed.Records:
    return read_fhir(synthea / "fhir_r4")


@pytest.fixture(scope="module")
def csv_export(synthea: Path, raw_bundles: dict[str, Json]) -> dict[str, pd.DataFrame]:
    """The CSV export's tables, cut to the six patients that have a bundle."""
    patients = {b["entry"][0]["resource"]["id"] for b in raw_bundles.values()}
    tables = {}
    for name in ("conditions", "medications", "procedures", "encounters", "observations"):
        table = pd.read_csv(synthea / "csv" / f"{name}.csv", dtype=str)
        tables[name] = table.loc[table["PATIENT"].isin(patients)].reset_index(drop=True)
    tables["patients"] = pd.read_csv(synthea / "csv" / "patients.csv", dtype=str)
    return tables


def _resources(raw_bundles: dict[str, Json], rtype: str) -> list[Json]:
    return [
        e["resource"]
        for b in raw_bundles.values()
        for e in b["entry"]
        if e["resource"]["resourceType"] == rtype
    ]


@pytest.fixture(scope="module")
def csv_encounter(raw_bundles: dict[str, Json], csv_export: dict[str, pd.DataFrame]) -> pd.Series:
    """FHIR encounter id -> CSV encounter id.

    The two exporters give one visit different ids; it is the same patient's
    visit starting at the same instant.
    """
    fhir = pd.DataFrame(
        [
            (
                e["subject"]["reference"].removeprefix("urn:uuid:"),
                e["period"]["start"],
                e["period"]["end"],
                e["id"],
            )
            for e in _resources(raw_bundles, "Encounter")
        ],
        columns=["PATIENT", "START", "STOP", "fhir_id"],
    )
    csv = csv_export["encounters"][["PATIENT", "START", "STOP", "Id"]]
    for table in (fhir, csv):
        for column in ("START", "STOP"):
            table[column] = pd.to_datetime(table[column], utc=True, format="ISO8601")
    # An emergency visit and the admission that follows it start together.
    matched = fhir.merge(csv, on=["PATIENT", "START", "STOP"], how="inner")
    assert len(matched) == len(fhir) == 86
    assert matched["fhir_id"].is_unique
    return matched.set_index("fhir_id")["Id"]


@pytest.mark.shared_data
def test_every_bundle_is_counted_as_the_readme_and_the_json_say(
    bundles: list[Path], raw_bundles: dict[str, Json], fhir_records: kgmed.Records
) -> None:
    assert len(bundles) == 6
    files = fhir_records.report.files
    assert sorted(files) == [p.name for p in bundles]
    for name, counts in files.items():
        (key,) = [k for k in README_COUNTS if name.startswith(k + "_")]
        assert (
            counts["entries"],
            counts["Condition"],
            counts["MedicationRequest"],
            counts["Observation"],
        ) == README_COUNTS[key], name
        raw = Counter(e["resource"]["resourceType"] for e in raw_bundles[name]["entry"])
        assert sum(raw.values()) == counts["entries"]
        by_type = {
            t.removeprefix("unsupported "): n
            for t, n in counts.items()
            if n and (t[0].isupper() or t.startswith("unsupported "))
        }
        assert by_type == dict(raw), name
        assert counts["duplicate resources"] == 0
        assert counts["unresolved references"] == 0
        assert counts["codings without system"] == 0
        assert counts["dates not parsed"] == 0


@pytest.mark.shared_data
def test_the_bundles_report_accounts_for_every_observation(
    raw_bundles: dict[str, Json], fhir_records: kgmed.Records
) -> None:
    report = fhir_records.report
    assert balanced(fhir_records)
    frame = report.files_frame()
    assert frame["read"].sum() == report.n_read
    assert frame["kept"].sum() == report.n_kept
    assert (frame[list(report.dropped)].sum() == pd.Series(report.dropped)).all()
    # Counted by hand from the JSON: a condition or a prescription is one
    # observation (one per ingredient of a combination product), an
    # Observation one per value (a blood pressure panel has two).
    n_values = sum(
        len(o["component"]) if "component" in o else 1
        for o in _resources(raw_bundles, "Observation")
    )
    n_ingredients = sum(
        len(ingredients(m["medicationCodeableConcept"]["coding"][0]["display"]))
        for m in _resources(raw_bundles, "MedicationRequest")
    )
    n_conditions = len(_resources(raw_bundles, "Condition"))
    n_procedures = len(_resources(raw_bundles, "Procedure"))
    assert report.n_read == n_conditions + n_ingredients + n_values + n_procedures
    assert report.n_patients == 6
    assert report.unknown_systems == {}


@pytest.mark.shared_data
def test_fhir_conditions_and_procedures_are_the_csvs_with_the_same_ids(
    raw_bundles: dict[str, Json],
    csv_export: dict[str, pd.DataFrame],
    csv_encounter: pd.Series,
    fhir_records: kgmed.Records,
) -> None:
    conditions = csv_export["conditions"]
    procedures = csv_export["procedures"]
    # Every condition code of a bundle is in the CSV for that patient.
    csv_codes = set(zip(conditions["PATIENT"], conditions["CODE"], strict=True))
    raw = {
        (c["subject"]["reference"].removeprefix("urn:uuid:"), c["code"]["coding"][0]["code"])
        for c in _resources(raw_bundles, "Condition")
    }
    assert len(raw) == 18
    assert raw <= csv_codes

    # Every clinical CSV condition and procedure is read from FHIR, at the
    # same visit, with the same concept id.
    data = fhir_records.data
    read = set(
        zip(
            data["patient_id"],
            data["encounter_id"].map(csv_encounter),
            data["concept_id"],
            strict=True,
        )
    )
    expected = set()
    for table in (conditions, procedures):
        clinical = table.loc[~is_social(table["DESCRIPTION"])]
        expected |= set(
            zip(
                clinical["PATIENT"],
                clinical["ENCOUNTER"],
                "SNOMEDCT:" + clinical["CODE"],
                strict=True,
            )
        )
    # 21 conditions and 67 procedures; "Risk activity involvement" is social
    # ("Health risks education", a procedure, is not); repeats at one visit
    # are one fact.
    assert (len(conditions), len(procedures)) == (21, 67)
    assert expected <= read
    # The only other SNOMED CT concepts read are answers to exam questions (a cause of death).
    answers = {
        (
            o["subject"]["reference"].removeprefix("urn:uuid:"),
            csv_encounter[o["encounter"]["reference"].removeprefix("urn:uuid:")],
            "SNOMEDCT:" + o["valueCodeableConcept"]["coding"][0]["code"],
        )
        for o in _resources(raw_bundles, "Observation")
        if "valueCodeableConcept" in o and o["category"][0]["coding"][0]["code"] == "exam"
    }
    assert len(answers) == 1
    snomed = {fact for fact in read if fact[2].startswith("SNOMEDCT:")}
    assert snomed == expected | answers

    # Procedures carry the CSV's time and recorded reason.
    clinical = procedures.loc[~is_social(procedures["DESCRIPTION"])]
    reasons = ("SNOMEDCT:" + clinical["REASONCODE"]).astype(object)
    csv_procedures = set(
        zip(
            clinical["PATIENT"],
            "SNOMEDCT:" + clinical["CODE"],
            pd.to_datetime(clinical["START"], utc=True),
            reasons.where(clinical["REASONCODE"].notna(), None),
            strict=True,
        )
    )
    done = data.loc[data["kind"] == "procedure"]
    fhir_procedures = set(
        zip(
            done["patient_id"],
            done["concept_id"],
            done["time"],
            done["reason_id"].astype(object).where(done["reason_id"].notna(), None),
            strict=True,
        )
    )
    assert fhir_procedures == csv_procedures

    # ...and everything is labelled as the CSV describes it, without the semantic tag.
    labels = {}
    for table in (conditions, procedures):
        labels.update(
            zip(
                "SNOMEDCT:" + table["CODE"],
                strip_semantic_tag(table["DESCRIPTION"]),
                strict=True,
            )
        )
    shown = data[["concept_id", "label"]].drop_duplicates()
    coded = shown.loc[shown["concept_id"].isin(list(labels))]
    assert len(coded) == len({concept_id for *_, concept_id in expected})

    def words(text: pd.Series) -> pd.Series:
        # Synthea's CSV export writes descriptions without their commas.
        return text.str.replace(",", "").str.split().str.join(" ")

    assert (words(coded["label"]) == words(coded["concept_id"].map(labels))).all()


@pytest.mark.shared_data
def test_fhir_prescriptions_are_the_csv_medications_with_the_same_ids(
    bundles: list[Path],
    csv_export: dict[str, pd.DataFrame],
    csv_encounter: pd.Series,
    fhir_records: kgmed.Records,
) -> None:
    medications = csv_export["medications"]
    reasons = ("SNOMEDCT:" + medications["REASONCODE"]).astype(object)
    expected = set(
        zip(
            medications["PATIENT"],
            medications["ENCOUNTER"],
            "RXNORM:" + medications["CODE"],
            reasons.where(medications["REASONCODE"].notna(), None),
            pd.to_datetime(medications["START"], utc=True),
            strict=True,
        )
    )
    assert len(expected) == 7
    data = fhir_records.data
    drugs = data.loc[data["kind"] == "treatment"]
    read = set(
        zip(
            drugs["patient_id"],
            drugs["encounter_id"].map(csv_encounter),
            drugs["product_code"],
            drugs["reason_id"].astype(object).where(drugs["reason_id"].notna(), None),
            drugs["time"],
            strict=True,
        )
    )
    # For these six patients both exports hold the same prescriptions.
    assert read == expected

    # Ingredient ids are the ingredients of the CSV's product descriptions.
    csv_ingredients = {
        ("RXNORM:" + code, "local:" + name.replace(" ", "_"))
        for code, description in zip(medications["CODE"], medications["DESCRIPTION"], strict=True)
        for name in ingredients(description)
    }
    grouped = set(zip(drugs["product_code"], drugs["concept_id"], strict=True))
    assert grouped == csv_ingredients
    assert len(drugs) == 8  # amoxicillin / clavulanate gives two

    # Kept as products, treatments are the CSV's RxNorm concept ids.
    as_products = read_fhir(bundles, ingredients=False).data
    products = as_products.loc[as_products["kind"] == "treatment"]
    assert set(zip(products["patient_id"], products["concept_id"], strict=True)) == set(
        zip(medications["PATIENT"], "RXNORM:" + medications["CODE"], strict=True)
    )


@pytest.mark.shared_data
def test_fhir_measurements_are_the_csv_observations_judged_alike(
    bundles: list[Path], csv_export: dict[str, pd.DataFrame]
) -> None:
    records = read_fhir(bundles, adult_age=None)
    measurements = records.measurements
    assert measurements is not None
    assert list(measurements.columns) == list(MEASUREMENT_COLUMNS)
    observations = csv_export["observations"].rename(columns={"PATIENT": "patient_id"})
    observations = observations.assign(
        time=pd.to_datetime(observations["DATE"], utc=True),
        concept_id="LOINC:" + observations["CODE"],
    )
    joined = measurements.merge(
        observations,
        on=["patient_id", "time", "concept_id"],
        how="left",
        validate="one_to_one",
    )
    assert len(measurements) == 668
    assert joined["VALUE"].notna().all()
    assert (joined["unit"] == joined["UNITS"]).all()
    # The CSV export rounds values to one decimal, FHIR keeps two.
    csv_values = joined["VALUE"].astype(float)
    assert ((joined["value"] - csv_values).abs() <= 0.05 + 1e-9).all()

    # Judged on the CSV's values, each measurement gets the same status,
    # unless rounding moved it across a bound.
    again = flag_observations(
        pd.DataFrame({"code": joined["CODE"], "value": csv_values, "unit": joined["UNITS"]})
    )
    differ = (again["status"] != joined["status"]).to_numpy()
    for code, fhir_value, csv_value in (
        joined.loc[differ, ["CODE", "value"]].assign(csv=csv_values[differ]).itertuples(index=False)
    ):
        bounds = [b for b in (REFERENCE_RANGES[code].low, REFERENCE_RANGES[code].high) if b]
        assert any(min(fhir_value, csv_value) <= b <= max(fhir_value, csv_value) for b in bounds)
    assert differ.sum() <= 3
    assert records.report.measurements == measurements["status"].value_counts().to_dict()

    # The findings in the records are the flagged measurements, with their values.
    data = records.data
    findings = data.loc[data["value"].notna()]
    flagged = measurements.loc[measurements["status"] == "flagged"]
    assert len(flagged) > 0
    assert len(findings) == len(flagged) - _duplicates(flagged)
    assert set(findings["label"]) == set(flagged["finding"])
    assert (findings["kind"] == "finding").all()


@pytest.mark.shared_data
def test_the_childrens_values_are_not_judged_by_adult_ranges(
    raw_bundles: dict[str, Json], bundles: list[Path], fhir_records: kgmed.Records
) -> None:
    births = {
        p["id"]: pd.Timestamp(p["birthDate"], tz="UTC") for p in _resources(raw_bundles, "Patient")
    }
    measured = fhir_records.measurements
    assert measured is not None
    as_adults = read_fhir(bundles, adult_age=None).measurements
    assert as_adults is not None
    age = (measured["time"] - measured["patient_id"].map(births)).dt.days / 365.2425
    judged = as_adults["status"].isin(["flagged", "in range"])
    young = (age < 18) & judged
    assert young.sum() > 0
    assert (measured["status"] == as_adults["status"].where(~young, "under 18")).all()
    assert fhir_records.report.dropped["measurement of a patient under 18"] == young.sum()
    assert fhir_records.report.notes == ["Patient: age and sex known for 6 of 6 patients"]


def _duplicates(flagged: pd.DataFrame) -> int:
    """Flagged measurements that repeat a finding at the same visit and instant."""
    return int(flagged.duplicated(["patient_id", "finding", "encounter_id", "time"]).sum())


def _bulk_export(raw_bundles: dict[str, Json], folder: Path) -> None:
    """The bundles' resources as a bulk export: one NDJSON file per type, relative references."""
    by_type: dict[str, list[str]] = {}
    for parsed in raw_bundles.values():
        text = json.dumps(parsed)
        for entry in parsed["entry"]:
            resource = entry["resource"]
            relative = f"{resource['resourceType']}/{resource['id']}"
            text = text.replace(f'"{entry["fullUrl"]}"', f'"{relative}"')
        for entry in json.loads(text)["entry"]:
            resource = entry["resource"]
            by_type.setdefault(resource["resourceType"], []).append(json.dumps(resource))
    for rtype, lines in by_type.items():
        (folder / f"{rtype}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.shared_data
def test_a_bulk_export_of_the_bundles_gives_the_same_records(
    tmp_path: Path, raw_bundles: dict[str, Json], fhir_records: kgmed.Records
) -> None:
    _bulk_export(raw_bundles, tmp_path)
    types = {e["resource"]["resourceType"] for b in raw_bundles.values() for e in b["entry"]}
    assert len(list(tmp_path.glob("*.ndjson"))) == len(types) == 16
    from_ndjson = read_fhir(tmp_path)
    order = ["patient_id", "time", "concept_id", "encounter_id"]
    pd.testing.assert_frame_equal(
        from_ndjson.data.sort_values(order, ignore_index=True),
        fhir_records.data.sort_values(order, ignore_index=True),
    )
    assert from_ndjson.report.dropped == fhir_records.report.dropped
    assert from_ndjson.report.files["Condition.ndjson"]["Condition"] == 21
    assert from_ndjson.report.files["Condition.ndjson"]["entries"] == 21
    frame = from_ndjson.report.files_frame()
    assert frame["unresolved references"].sum() == 0
    assert frame["read"].sum() == fhir_records.report.n_read


@pytest.mark.shared_data
def test_encounter_baskets_on_the_bundles(
    bundles: list[Path], csv_encounter: pd.Series, fhir_records: kgmed.Records
) -> None:
    records = read_fhir(bundles, basket="encounter")
    assert records.basket == "encounter"
    assert records.data["encounter_id"].isin(csv_encounter.index).all()
    # Every Synthea resource names its visit: nothing is lost per encounter.
    assert len(records) == len(fhir_records)
    assert "no encounter" not in records.report.dropped
    visits = records.data.groupby("encounter_id")["concept_id"].nunique()
    assert kgmed.transactions(records).matrix.shape[0] == len(visits)
