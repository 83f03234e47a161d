"""Node kinds, coding systems, concept ids and relations."""

from __future__ import annotations

import pandas as pd
import pytest

from kgmed import Records, RecordsError, UnknownKindError
from kgmed.schema import (
    CODE_SYSTEMS,
    CORE_KINDS,
    KINDS,
    RELATIONS,
    concept_id_for,
    normalize_kind,
    normalize_system,
    relation_for,
)


def test_kinds() -> None:
    assert CORE_KINDS == ("disease", "symptom", "treatment")
    assert KINDS == ("disease", "symptom", "treatment", "finding", "procedure", "lab")


# -- kinds --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["disease", "symptom", "treatment", "finding", "procedure", "lab"])
def test_normalize_kind_keeps_kinds(kind: str) -> None:
    assert normalize_kind(kind) == kind
    assert normalize_kind(f"  {kind.upper()}\t") == kind


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("Diagnosis", "disease"),
        ("diagnoses", "disease"),
        ("Condition", "disease"),
        ("disorder", "disease"),
        ("Sign", "symptom"),
        ("signs", "symptom"),
        ("Symptoms", "symptom"),
        ("complaint", "symptom"),
        ("medication", "treatment"),
        (" MEDICATIONS ", "treatment"),
        ("Drug", "treatment"),
        ("therapy", "treatment"),
        ("observation", "finding"),
        ("procedures", "procedure"),
        ("laboratory", "lab"),
        ("Labs", "lab"),
    ],
)
def test_normalize_kind_synonyms(value: str, kind: str) -> None:
    assert normalize_kind(value) == kind


@pytest.mark.parametrize("value", ["gene", "", "   ", "dis ease", "symptom/finding", "rule"])
def test_normalize_kind_unknown(value: str) -> None:
    with pytest.raises(UnknownKindError) as info:
        normalize_kind(value)
    assert repr(value) in str(info.value)
    assert str(list(KINDS)) in str(info.value)
    assert isinstance(info.value, RecordsError)
    assert isinstance(info.value, ValueError)


# -- coding systems ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "prefix"),
    [
        ("SNOMEDCT", "SNOMEDCT"),
        ("SNOMED CT", "SNOMEDCT"),
        ("SNOMED-CT", "SNOMEDCT"),
        ("snomed_ct", "SNOMEDCT"),
        ("SNOMEDCT_US", "SNOMEDCT"),
        ("  snomed ct  ", "SNOMEDCT"),
        ("http://snomed.info/sct", "SNOMEDCT"),
        ("ICD-10-CM", "ICD10CM"),
        ("icd10cm", "ICD10CM"),
        ("ICD10-CM", "ICD10CM"),
        ("http://hl7.org/fhir/sid/icd-10-cm", "ICD10CM"),
        ("ICD-10", "ICD10"),
        ("http://hl7.org/fhir/sid/icd-10", "ICD10"),
        ("ICD-9-CM", "ICD9CM"),
        ("RxNorm", "RXNORM"),
        ("http://www.nlm.nih.gov/research/umls/rxnorm", "RXNORM"),
        ("LOINC", "LOINC"),
        ("http://loinc.org", "LOINC"),
        ("HPO", "HP"),
        ("MeSH", "MESH"),
        ("CVX", "CVX"),
    ],
)
def test_normalize_system_spellings(value: str, prefix: str) -> None:
    assert normalize_system(value) == prefix


@pytest.mark.parametrize(
    ("prefix", "alias"),
    [(prefix, alias) for prefix, aliases in CODE_SYSTEMS.items() for alias in aliases],
)
def test_every_listed_alias_maps_to_its_system(prefix: str, alias: str) -> None:
    assert normalize_system(alias) == prefix
    assert normalize_system(alias.upper()) == prefix


@pytest.mark.parametrize(("value", "prefix"), [("MyHospital", "MYHOSPITAL"), ("local2", "LOCAL2")])
def test_normalize_system_keeps_plain_words(value: str, prefix: str) -> None:
    assert normalize_system(value) == prefix


@pytest.mark.parametrize(
    "value", ["snomed/ct!", "", "  ", "1abc", "http://example.org/codes", "a:b", "icd 10 ☃"]
)
def test_normalize_system_refuses_other_text(value: str) -> None:
    with pytest.raises(
        RecordsError, match=r"coding system .* is not known and is not a plain word"
    ):
        normalize_system(value)


# -- concept ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "system", "code", "expected"),
    [
        ("influenza", "ICD10CM", "J11.1", "ICD10CM:J11.1"),
        ("dry cough", None, None, "local:dry_cough"),
        ("dry cough", "SNOMEDCT", None, "local:dry_cough"),
        ("dry cough", None, "49727002", "local:dry_cough"),
        ("type 2 diabetes mellitus", None, None, "local:type_2_diabetes_mellitus"),
    ],
)
def test_concept_id_for(label: str, system: str | None, code: str | None, expected: str) -> None:
    assert concept_id_for(label, system=system, code=code) == expected


@pytest.mark.parametrize(
    "raw", ["Dry_Cough", "  Shortness of  breath", "ＣＯＶＩＤ-19", "fever\u00a0high", "<b>x</b>"]
)
def test_concept_id_for_agrees_with_the_readers(raw: str) -> None:
    df = pd.DataFrame({"patient_id": ["p1"], "concept": [raw], "kind": ["symptom"]})
    records = Records.from_dataframe(df)
    label = records.data["label"].iloc[0]
    assert records.data["concept_id"].iloc[0] == concept_id_for(label.casefold())


# -- relations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind_a", "kind_b", "name", "reversed_"),
    [
        ("disease", "symptom", "has_symptom", False),
        ("symptom", "disease", "has_symptom", True),
        ("disease", "treatment", "treated_with", False),
        ("treatment", "disease", "treated_with", True),
        ("disease", "disease", "comorbid_with", False),
        ("symptom", "symptom", "co_occurs_with", False),
        ("treatment", "treatment", "co_prescribed_with", False),
        ("symptom", "treatment", "associated_with", False),
        ("treatment", "symptom", "associated_with", False),
        ("finding", "disease", "associated_with", False),
        ("lab", "procedure", "associated_with", False),
    ],
)
def test_relation_for(kind_a: str, kind_b: str, name: str, reversed_: bool) -> None:
    relation, is_reversed = relation_for(kind_a, kind_b)
    assert (relation.name, is_reversed) == (name, reversed_)


@pytest.mark.parametrize(
    ("name", "source", "target", "symmetric"),
    [
        ("has_symptom", "disease", "symptom", False),
        ("treated_with", "disease", "treatment", False),
        ("comorbid_with", "disease", "disease", True),
        ("co_occurs_with", "symptom", "symptom", True),
        ("co_prescribed_with", "treatment", "treatment", True),
    ],
)
def test_relations(name: str, source: str, target: str, symmetric: bool) -> None:
    relation = RELATIONS[name]
    assert (relation.source_kind, relation.target_kind, relation.symmetric) == (
        source,
        target,
        symmetric,
    )
