"""read_fhir and references that find no resource: who the patient is, and what the report says.

A subject reference is a patient's identity even when the Patient resource
is elsewhere (bulk exports split by type); a subject that is, or says it
is, something else never becomes a patient; one patient referred to in
several forms is one patient. Every reference that finds nothing is counted
and described in ``report.notes``, which the printed report shows.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kgmed
from kgmed.cli import main
from kgmed.records.fhir import read_fhir

SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
MRN = "http://hospital.example.org/mrn"

Json = dict[str, Any]


# -- building blocks ------------------------------------------------------------------


def coded(system: str, code: str, display: str) -> Json:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def person(pid: str = "1", *, mrn: str | None = None, born: str | None = "1970-05-01") -> Json:
    resource: Json = {"resourceType": "Patient", "id": pid, "gender": "female"}
    if born is not None:
        resource["birthDate"] = born
    if mrn is not None:
        resource["identifier"] = [{"system": MRN, "value": mrn}]
    return resource


def condition(cid: str, subject: Json | None, *, code: str = "38341003") -> Json:
    resource: Json = {
        "resourceType": "Condition",
        "id": cid,
        "code": coded(SNOMED, code, "Hypertension (disorder)"),
        "onsetDateTime": "2020-01-02",
    }
    if subject is not None:
        resource["subject"] = subject
    return resource


def drug(mid: str, subject: str = "Patient/1", **fields: Any) -> Json:
    resource: Json = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "subject": {"reference": subject},
        "authoredOn": "2020-01-02",
    }
    if "medicationReference" not in fields:
        resource["medicationCodeableConcept"] = coded(RXNORM, "314076", "lisinopril 10 MG")
    resource.update(fields)
    return resource


def bundle(*entries: Json | tuple[str, Json]) -> Json:
    """A collection Bundle; an entry given as (full URL, resource) has that fullUrl."""
    listed = []
    for entry in entries:
        if isinstance(entry, tuple):
            listed.append({"fullUrl": entry[0], "resource": entry[1]})
        else:
            listed.append({"resource": entry})
    return {"resourceType": "Bundle", "type": "collection", "entry": listed}


def ref(text: str) -> Json:
    return {"reference": text}


def notes_on(records: kgmed.Records, role: str) -> list[str]:
    return [n for n in records.report.notes if n.startswith(f"{role}: ")]


def balanced(records: kgmed.Records) -> bool:
    report = records.report
    return report.n_read == report.n_kept + report.n_dropped


# Every form a reference to Patient "1" may take when the Patient is in the
# input as id "1" with full URL urn:uuid:abc.
PATIENT_FORMS: dict[str, Json] = {
    "relative": ref("Patient/1"),
    "absolute": ref("http://fhir.example.org/r4/Patient/1"),
    "versioned": ref("Patient/1/_history/2"),
    "absolute versioned": ref("https://fhir.example.org/r4/Patient/1/_history/7"),
    "full URL": ref("urn:uuid:abc"),
    "logical": {"identifier": {"system": MRN, "value": "MRN-0042"}},
    "logical with type": {"type": "Patient", "identifier": {"system": MRN, "value": "MRN-0042"}},
}


# -- one patient, however referred to -------------------------------------------------


@pytest.mark.parametrize("form", list(PATIENT_FORMS))
def test_every_form_of_reference_finds_the_patient_of_the_input(form: str) -> None:
    records = read_fhir(
        bundle(("urn:uuid:abc", person(mrn="MRN-0042")), condition("c1", PATIENT_FORMS[form]))
    )
    assert records.data["patient_id"].tolist() == ["1"]
    assert records.report.files["input"]["unresolved references"] == 0
    assert notes_on(records, "subject") == []
    assert records.patients is not None
    assert records.patients.loc["1", "sex"] == "female"


def test_all_forms_at_once_are_one_patient() -> None:
    conditions = [
        condition(f"c{i}", subject, code=str(1000 + i))
        for i, subject in enumerate(PATIENT_FORMS.values())
    ]
    records = read_fhir(bundle(("urn:uuid:abc", person(mrn="MRN-0042")), *conditions))
    assert records.report.n_patients == 1
    assert set(records.data["patient_id"]) == {"1"}
    assert len(records) == len(PATIENT_FORMS)
    assert records.report.notes == ["Patient: age and sex known for 1 of 1 patients"]


@pytest.mark.parametrize(
    "subject",
    ["Patient/1", "http://x.example/fhir/Patient/1", "Patient/1/_history/3", "urn:uuid:1"],
)
def test_a_patient_not_in_the_input_is_kept_under_the_id_the_reference_gives(
    subject: str,
) -> None:
    records = read_fhir(bundle(condition("c1", ref(subject)), drug("m1", subject)))
    assert records.data["patient_id"].tolist() == ["1", "1"]
    assert records.report.dropped == {}
    assert records.report.files["input"]["unresolved references"] == 2
    (note,) = notes_on(records, "subject")
    assert note.startswith(
        "subject: 2 resources (1 Condition, 1 MedicationRequest), such as Condition/c1, "
        "refer to 1 patient not in the input; their observations are kept"
    )
    assert "with age and sex unknown" in note
    assert records.patients is None  # nothing is known of who they are
    assert note in str(records.report)


def test_the_forms_of_one_missing_patient_are_one_patient() -> None:
    forms = ["Patient/1", "http://x.example/fhir/Patient/1", "Patient/1/_history/3", "urn:uuid:1"]
    records = read_fhir(
        bundle(*(condition(f"c{i}", ref(s), code=str(10 + i)) for i, s in enumerate(forms)))
    )
    assert records.report.n_patients == 1
    (note,) = notes_on(records, "subject")
    assert "4 resources (4 Condition), such as Condition/c0, refer to 1 patient" in note


def test_a_patient_without_id_goes_by_its_full_url() -> None:
    nameless = {"resourceType": "Patient", "gender": "male", "birthDate": "1950-01-01"}
    records = read_fhir(bundle(("urn:uuid:p7", nameless), condition("c1", ref("urn:uuid:p7"))))
    assert records.data["patient_id"].tolist() == ["p7"]
    assert records.patients is not None
    assert records.patients.loc["p7", "sex"] == "male"
    assert records.patients.loc["p7", "age"] == 70


# -- subjects that are no patient -----------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        (ref("Group/g1"), "Group"),
        (ref("Device/d1"), "Device"),
        (ref("http://x.example/fhir/Location/l1/_history/1"), "Location"),
        ({"reference": "urn:uuid:g1", "type": "Group"}, "Group"),
        (
            {"reference": "urn:uuid:g1", "type": "http://hl7.org/fhir/StructureDefinition/Group"},
            "Group",
        ),
        ({"type": "Device", "identifier": {"system": "urn:udi", "value": "x"}}, "Device"),
        (ref("Encounter/e1"), "Encounter"),  # in the input: resolves to no Patient
        (ref("urn:uuid:e1"), "Encounter"),  # the Encounter's full URL
        (ref("Group?identifier=ward-4"), "Group"),
        (ref("#grp"), "Group"),  # a contained Group
    ],
)
def test_a_subject_that_is_no_patient_never_becomes_one(subject: Json, kind: str) -> None:
    visit = {"resourceType": "Encounter", "id": "e1", "subject": ref("Patient/1")}
    odd = condition("c1", subject, code="195967001")
    odd["contained"] = [{"resourceType": "Group", "id": "grp"}]
    records = read_fhir(
        bundle(person(), ("urn:uuid:e1", visit), odd, condition("c2", ref("Patient/1")))
    )
    assert records.data["patient_id"].tolist() == ["1"]
    assert records.report.n_patients == 1
    assert records.report.dropped == {"subject not a patient": 1}
    assert balanced(records)
    (note,) = notes_on(records, "subject")
    assert note == (
        f"subject: 1 resource (1 Condition), such as Condition/c1, have a subject that is no "
        f"Patient ({kind}: 1); their observations are dropped as 'subject not a patient'"
    )


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ({"identifier": {"system": MRN, "value": "MRN-9999"}}, "an identifier"),
        ({"identifier": {"value": "MRN-0042"}}, "an identifier"),  # no system: not the MRN
        (
            ref("Patient?identifier=http://hospital.example.org/mrn|MRN-0042"),
            "a conditional reference",
        ),
        (ref("#nobody"), "a contained resource not there"),
        (ref("#someone"), "a contained Patient"),
        (ref("1"), "a reference without type"),
    ],
)
def test_a_patient_named_in_no_usable_way_is_dropped(subject: Json, kind: str) -> None:
    lost = condition("c1", subject, code="195967001")
    lost["contained"] = [{"resourceType": "Patient", "id": "someone"}]
    records = read_fhir(bundle(person(mrn="MRN-0042"), lost, condition("c2", ref("Patient/1"))))
    assert records.data["patient_id"].tolist() == ["1"]
    assert records.report.dropped == {"patient not identified": 1}
    assert balanced(records)
    (note,) = notes_on(records, "subject")
    assert note.startswith(
        f"subject: 1 resource (1 Condition), such as Condition/c1, name their patient in a way "
        f"that matches no Patient of the input ({kind}: 1); their observations are dropped as "
        f"'patient not identified'"
    )
    assert "MRN-" not in " ".join(records.report.notes)  # an identifier names a patient


def test_two_patients_with_one_identifier_name_neither() -> None:
    twins = [person("1", mrn="MRN-7"), person("2", mrn="MRN-7")]
    lost = condition("c1", {"identifier": {"system": MRN, "value": "MRN-7"}})
    records = read_fhir(bundle(*twins, lost, condition("c2", ref("Patient/2"), code="1")))
    assert records.report.dropped == {"patient not identified": 1}
    assert records.data["patient_id"].tolist() == ["2"]


def test_a_contained_patient_is_the_patient_of_the_input_with_its_identifier() -> None:
    known = condition("c1", ref("#pat"))
    known["contained"] = [
        {"resourceType": "Patient", "id": "pat", "identifier": [{"system": MRN, "value": "MRN-5"}]}
    ]
    stranger = condition("c2", ref("#pat"), code="195967001")
    stranger["contained"] = [{"resourceType": "Patient", "id": "pat"}]
    records = read_fhir(bundle(person("5", mrn="MRN-5"), known, stranger))
    # Contained ids are local: "pat" is no patient, and two containers' "pat" are not one.
    assert records.data["patient_id"].tolist() == ["5"]
    assert records.report.dropped == {"patient not identified": 1}


# -- encounters, reasons, drugs -------------------------------------------------------


def test_encounters_not_in_the_input_keep_their_id_and_are_noted_without_it() -> None:
    seen = condition("c1", ref("Patient/1"))
    seen["encounter"] = ref("Encounter/visit-9")
    logical = condition("c2", ref("Patient/1"), code="195967001")
    logical["encounter"] = {"identifier": {"system": "urn:visits", "value": "V-1"}}
    episode = drug("m1", context=ref("EpisodeOfCare/ep1"), resourceType="MedicationStatement")
    records = read_fhir(bundle(person(), seen, logical, episode))
    encounters = records.data.set_index("concept_id")["encounter_id"].astype("string")
    assert encounters.fillna("-").to_dict() == {
        "SNOMEDCT:38341003": "visit-9",
        "SNOMEDCT:195967001": "-",
        "local:lisinopril": "-",
    }
    (note,) = notes_on(records, "encounter")
    assert note == (
        "encounter: 3 resources (2 Condition, 1 MedicationStatement), such as Condition/c1, "
        "refer to an Encounter not in the input: 1 give the visit id the reference names; "
        "1 name no id (an identifier, a conditional or contained reference) and leave their "
        "observations without an encounter; 1 point to no Encounter (EpisodeOfCare: 1) and "
        "leave their observations without an encounter (encounter ids are left out: they "
        "name visits)"
    )
    assert "visit-9" not in str(records.report)
    per_visit = read_fhir(bundle(person(), seen, logical, episode), basket="encounter")
    assert per_visit.report.dropped == {"no encounter": 2}


def test_reasons_not_in_the_input_are_named_and_not_recorded() -> None:
    missing = [f"Condition/gone{i}" for i in range(5)]
    given = drug("m1", reasonReference=[ref(r) for r in missing[:2]])
    others = [drug(f"m{i}", reasonReference=[ref(missing[i])]) for i in range(2, 5)]
    records = read_fhir(bundle(person(), given, *others))
    assert records.data["reason_id"].isna().all()
    (note,) = [n for n in records.report.notes if n.startswith("reasonReference: ")]
    assert note == (
        "reasonReference: 5 references in 4 resources (4 MedicationRequest), such as "
        "MedicationRequest/m1, find no resource in the input (Condition/gone0, Condition/gone1, "
        "Condition/gone2 and more); those reasons are not recorded"
    )
    assert records.report.files["input"]["unresolved references"] == 5


def test_a_reason_code_still_counts_beside_a_reason_not_in_the_input() -> None:
    both = drug(
        "m1",
        reasonReference=[ref("Condition/gone")],
        reasonCode=[coded(SNOMED, "38341003", "Hypertension")],
    )
    records = read_fhir(bundle(person(), both))
    assert records.data["reason_id"].tolist() == ["SNOMEDCT:38341003"]
    assert any("(Condition/gone)" in n for n in records.report.notes)


def test_reasons_and_drugs_by_identifier() -> None:
    diagnosis = condition("c1", ref("Patient/1"))
    diagnosis["identifier"] = [{"system": "urn:problems", "value": "P-1"}]
    medication = {
        "resourceType": "Medication",
        "id": "med1",
        "identifier": [{"system": "urn:formulary", "value": "F-9"}],
        "code": coded(RXNORM, "314076", "lisinopril 10 MG Oral Tablet"),
    }
    found = drug(
        "m1",
        medicationReference={"identifier": {"system": "urn:formulary", "value": "F-9"}},
        reasonReference=[{"identifier": {"system": "urn:problems", "value": "P-1"}}],
    )
    lost = drug(
        "m2",
        medicationReference={"identifier": {"system": "urn:formulary", "value": "F-0"}},
        reasonReference=[{"identifier": {"system": "urn:problems", "value": "P-0"}}],
    )
    records = read_fhir(bundle(person(), diagnosis, medication, found, lost))
    assert records.data[["concept_id", "reason_id"]].values.tolist() == [
        ["SNOMEDCT:38341003", pd.NA],
        ["local:lisinopril", "SNOMEDCT:38341003"],
    ]
    assert records.report.dropped == {"medication not in the input": 1}
    notes = [n for n in records.report.notes if n.startswith(("reasonRef", "medicationRef"))]
    assert len(notes) == 2
    assert all("(a reference by identifier)" in n for n in notes)
    assert all("such as MedicationRequest/m2" in n for n in notes)
    assert "F-0" not in str(records.report)


def test_drugs_whose_medication_is_not_in_the_input() -> None:
    named = drug(
        "m1", medicationReference={"reference": "Medication/med1", "display": "Lisinopril"}
    )
    nameless = drug("m2", medicationReference=ref("urn:uuid:med2"))
    records = read_fhir(bundle(person(), named, nameless))
    assert records.data["concept_id"].tolist() == ["local:lisinopril"]
    assert records.report.dropped == {"medication not in the input": 1}
    (note,) = [n for n in records.report.notes if n.startswith("medicationReference: ")]
    assert note == (
        "medicationReference: 2 resources (2 MedicationRequest), such as MedicationRequest/m1, "
        "refer to a Medication not in the input (Medication/med1, urn:uuid:med2): 1 read by "
        "the reference's display; 1 dropped as 'medication not in the input'"
    )


def test_references_that_resolve_leave_no_note() -> None:
    medication = {"resourceType": "Medication", "id": "med1", "code": coded(RXNORM, "29046", "x")}
    visit = {"resourceType": "Encounter", "id": "e1", "subject": ref("Patient/1")}
    diagnosis = condition("c1", ref("Patient/1"))
    diagnosis["encounter"] = ref("Encounter/e1")
    treated = drug(
        "m1",
        encounter=ref("urn:uuid:e1"),
        medicationReference=ref("Medication/med1"),
        reasonReference=[ref("Condition/c1")],
    )
    records = read_fhir(bundle(person(), ("urn:uuid:e1", visit), medication, diagnosis, treated))
    assert records.report.notes == ["Patient: age and sex known for 1 of 1 patients"]
    assert records.data["reason_id"].tolist() == [pd.NA, "SNOMEDCT:38341003"]


# -- the six Synthea bundles with resources taken out ---------------------------------


@pytest.fixture(scope="module")
def raw_bundles(shared_data: Path) -> dict[str, Json]:
    folder = shared_data / "synthea_csv_59_ca" / "fhir_r4"
    return {
        p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
    }


@pytest.fixture(scope="module")
def whole(raw_bundles: dict[str, Json]) -> kgmed.Records:
    return read_fhir(list(raw_bundles.values()))


def without(raw_bundles: dict[str, Json], *types: str) -> list[Json]:
    """Each bundle with the resources of ``types`` taken out."""
    cut = []
    for parsed in raw_bundles.values():
        copied = copy.deepcopy(parsed)
        copied["entry"] = [e for e in copied["entry"] if e["resource"]["resourceType"] not in types]
        cut.append(copied)
    return cut


def resources(raw_bundles: dict[str, Json], *types: str) -> list[Json]:
    return [
        e["resource"]
        for b in raw_bundles.values()
        for e in b["entry"]
        if e["resource"]["resourceType"] in types
    ]


def patient_ids(raw_bundles: dict[str, Json]) -> set[str]:
    return {r["id"] for r in resources(raw_bundles, "Patient")}


SORT = ["patient_id", "time", "concept_id", "encounter_id", "reason_id"]


def same_data(a: kgmed.Records, b: kgmed.Records) -> None:
    pd.testing.assert_frame_equal(
        a.data.sort_values(SORT, ignore_index=True), b.data.sort_values(SORT, ignore_index=True)
    )


@pytest.mark.shared_data
def test_bundles_without_their_patients_keep_every_patient_once(
    raw_bundles: dict[str, Json], whole: kgmed.Records
) -> None:
    # Measurements are judged alike when no patient is a child.
    records = read_fhir(without(raw_bundles, "Patient"), adult_age=None)
    same_data(records, read_fhir(list(raw_bundles.values()), adult_age=None))
    assert set(records.data["patient_id"]) == patient_ids(raw_bundles)
    assert records.report.n_patients == whole.report.n_patients == 6
    assert records.patients is None
    # Every clinical resource refers to its patient; Encounters are not read.
    n_clinical = len(
        resources(raw_bundles, "Condition", "MedicationRequest", "Observation", "Procedure")
    )
    (note,) = notes_on(records, "subject")
    assert note.startswith(f"subject: {n_clinical:,} resources (")
    assert "refer to 6 patients not in the input" in note
    unresolved = sum(f["unresolved references"] for f in records.report.files.values())
    assert unresolved == n_clinical
    # Patient ids never appear in what the report says.
    text = str(records.report)
    assert not patient_ids(raw_bundles) & set(re.findall(r"[\w-]+", text))


@pytest.mark.shared_data
def test_bundles_without_their_encounters_keep_the_visit_ids(
    raw_bundles: dict[str, Json], whole: kgmed.Records
) -> None:
    records = read_fhir(without(raw_bundles, "Encounter"), basket="encounter")
    same_data(records, read_fhir(list(raw_bundles.values()), basket="encounter"))
    (note,) = notes_on(records, "encounter")
    n_clinical = len(
        resources(raw_bundles, "Condition", "MedicationRequest", "Observation", "Procedure")
    )
    assert f"{n_clinical:,} give the visit id the reference names" in note
    visits = {r["id"] for r in resources(raw_bundles, "Encounter")}
    assert not visits & set(re.findall(r"[\w-]+", str(records.report)))


@pytest.mark.shared_data
def test_bundles_without_their_conditions_lose_the_reasons_and_say_which(
    raw_bundles: dict[str, Json], whole: kgmed.Records
) -> None:
    cut = without(raw_bundles, "Condition")
    records = read_fhir(cut)
    assert whole.data["reason_id"].notna().sum() > 0
    assert records.data["reason_id"].isna().all()
    # Losing the reasons is all that comes of it: the same bundles without
    # their reasonReferences give the same records.
    for parsed in cut:
        for entry in parsed["entry"]:
            entry["resource"].pop("reasonReference", None)
    same_data(records, read_fhir(cut))
    referring = [
        r
        for r in resources(raw_bundles, "MedicationRequest", "Procedure")
        if r.get("reasonReference")
    ]
    first = [ref["reference"] for r in referring for ref in r["reasonReference"]]
    (note,) = [n for n in records.report.notes if n.startswith("reasonReference: ")]
    assert note.startswith(
        f"reasonReference: {len(first)} references in {len(referring)} resources ("
    )
    # The first references met are named as written: urn:uuid:<Condition id>.
    named = re.search(r"\((urn:uuid:[^,)]+)", note)
    assert named is not None
    assert named.group(1) in first
    assert named.group(1).removeprefix("urn:uuid:") in {
        c["id"] for c in resources(raw_bundles, "Condition")
    }


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "form",
    [
        lambda rtype, rid: f"{rtype}/{rid}",
        lambda rtype, rid: f"https://fhir.example.org/r4/{rtype}/{rid}",
        lambda rtype, rid: f"{rtype}/{rid}/_history/1",
    ],
    ids=["relative", "absolute", "versioned"],
)
def test_the_bundles_read_alike_whatever_the_form_of_their_references(
    raw_bundles: dict[str, Json], whole: kgmed.Records, form: Callable[[str, str], str]
) -> None:
    rewritten = []
    for parsed in raw_bundles.values():
        text = json.dumps(parsed)
        for entry in parsed["entry"]:
            resource = entry["resource"]
            new = form(resource["resourceType"], resource["id"])
            text = text.replace(f'"reference": "{entry["fullUrl"]}"', f'"reference": "{new}"')
        rewritten.append(json.loads(text))
    records = read_fhir(rewritten)
    same_data(records, whole)
    assert records.report.notes == whole.report.notes
    assert sum(f["unresolved references"] for f in records.report.files.values()) == 0


@pytest.mark.shared_data
def test_a_group_subject_in_a_bundle_is_dropped_not_made_a_patient(
    raw_bundles: dict[str, Json], whole: kgmed.Records
) -> None:
    cut = without(raw_bundles, "Condition")
    grouped = copy.deepcopy(list(raw_bundles.values()))
    n = 0
    for parsed in grouped:
        for entry in parsed["entry"]:
            if entry["resource"]["resourceType"] == "Condition":
                entry["resource"]["subject"] = {"reference": "Group/cohort-1"}
                n += 1
    records = read_fhir(grouped)
    assert records.report.dropped["subject not a patient"] == n == 21
    assert set(records.data["patient_id"]) == patient_ids(raw_bundles)
    assert records.report.n_patients == 6
    # What is kept is what the bundles give without their Conditions, but
    # for the reasons (the Conditions are there to be reasons).
    order = [c for c in SORT if c != "reason_id"]
    pd.testing.assert_frame_equal(
        records.data.drop(columns="reason_id").sort_values(order, ignore_index=True),
        read_fhir(cut).data.drop(columns="reason_id").sort_values(order, ignore_index=True),
    )
    (note,) = notes_on(records, "subject")
    assert note.startswith(f"subject: {n} resources ({n} Condition)")
    assert "(Group: 21)" in note


def bulk_export(raw_bundles: dict[str, Json], folder: Path, *, leave_out: tuple[str, ...]) -> Path:
    """The bundles as a bulk export, one NDJSON file per type, less the types left out."""
    folder.mkdir()
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
        if rtype not in leave_out:
            (folder / f"{rtype}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.mark.shared_data
def test_a_bulk_export_without_patients_and_encounters_is_the_same_records(
    tmp_path: Path, raw_bundles: dict[str, Json]
) -> None:
    full = read_fhir(bulk_export(raw_bundles, tmp_path / "all", leave_out=()), adult_age=None)
    split = bulk_export(raw_bundles, tmp_path / "split", leave_out=("Patient", "Encounter"))
    records = read_fhir(split, adult_age=None)
    same_data(records, full)
    assert records.report.n_patients == 6
    assert len(notes_on(records, "subject")) == len(notes_on(records, "encounter")) == 1
    per_file = records.report.files_frame()["unresolved references"]
    # Each Observation names a patient and a visit that are in no file read.
    assert per_file["Observation.ndjson"] == 2 * len(resources(raw_bundles, "Observation"))
    assert full.report.files_frame()["unresolved references"].sum() == 0


# -- what kgmed build prints ----------------------------------------------------------


def _build(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


@pytest.mark.shared_data
def test_build_prints_what_became_of_references_to_resources_not_read(
    tmp_path: Path, raw_bundles: dict[str, Json], capsys: pytest.CaptureFixture[str]
) -> None:
    split = bulk_export(
        raw_bundles, tmp_path / "split", leave_out=("Patient", "Encounter", "Condition")
    )
    status, out, err = _build(
        capsys, "build", split, "--out", tmp_path / "out", "--min-patients", "2"
    )
    assert status == 0, err
    printed = " ".join(out.split())  # notes are printed as they are; lines may wrap
    assert "patients 6" in printed
    assert "refer to 6 patients not in the input" in printed
    assert "refer to an Encounter not in the input" in printed
    assert "find no resource in the input (Condition/" in printed
    ids = patient_ids(raw_bundles) | {r["id"] for r in resources(raw_bundles, "Encounter")}
    for text in [out, (tmp_path / "out" / "report.txt").read_text(encoding="utf-8")]:
        assert not ids & set(re.findall(r"[\w-]+", text))


def test_build_prints_subjects_dropped_for_being_no_patient(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    lines = [person(str(i)) for i in range(12)]
    lines += [condition(f"c{i}", ref(f"Patient/{i}")) for i in range(12)]
    lines += [condition("g", ref("Group/ward-4"), code="195967001")]
    (folder / "export.ndjson").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    status, out, err = _build(capsys, "build", folder, "--out", tmp_path / "out")
    assert status == 0, err
    assert "dropped: subject not a patient" in out
    assert "have a subject that is no Patient (Group: 1)" in out
    assert re.search(r"^  patients +12$", out, flags=re.MULTILINE)
