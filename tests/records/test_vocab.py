"""The clinical vocabulary the standard-format readers share."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kgmed import ParameterError
from kgmed.records.vocab import (
    REFERENCE_RANGES,
    SOCIAL_PATTERNS,
    ReferenceRange,
    flag_observations,
    ingredients,
    is_social,
    kind_of_snomed,
    semantic_tag,
    strip_semantic_tag,
)


@pytest.mark.parametrize(
    ("description", "tag"),
    [
        ("Viral sinusitis (disorder)", "disorder"),
        ("Medication review due (situation)", "situation"),
        ("Nursing care/supplementary surveillance (regime/therapy)", "regime/therapy"),
        ("Burn injury (morphologic abnormality)", "morphologic abnormality"),
        ("Eggs (edible) (substance)", "substance"),
        ("Severe anxiety (panic) (finding)", "finding"),
        ("Severe anxiety (panic) (finding", "finding"),  # cut short in an export
        ("Severe anxiety (panic)", None),  # not a SNOMED CT tag
        ("Hypertension", None),
        ("", None),
    ],
)
def test_semantic_tag(description: str, tag: str | None) -> None:
    assert semantic_tag(description) == tag


def test_strip_semantic_tag_keeps_other_parentheses_and_missing_values() -> None:
    descriptions = pd.Series(
        ["Viral sinusitis (disorder)", "Eggs (edible) (substance)", "Fever (finding", None]
    )
    assert strip_semantic_tag(descriptions).tolist() == [
        "Viral sinusitis",
        "Eggs (edible)",
        "Fever",
        pd.NA,
    ]


@pytest.mark.parametrize(
    ("description", "kind"),
    [
        ("Acute bronchitis (disorder)", "disease"),
        ("Sprain (morphologic abnormality)", "disease"),
        ("Cough (finding)", "symptom"),
        ("Body mass index 30+ - obesity (finding)", "finding"),
        ("Allergy to substance (finding)", "finding"),
        ("History of myocardial infarction (situation)", "finding"),
        ("Refugee (person)", "finding"),
        ("Renal dialysis (procedure)", "procedure"),
        ("Hospice care (regime/therapy)", "procedure"),
        ("Peanut (substance)", "finding"),
        ("Hypertension", "disease"),
        ("History of appendectomy", "finding"),
        ("Allergy to peanuts", "finding"),
    ],
)
def test_kind_of_snomed(description: str, kind: str) -> None:
    assert kind_of_snomed(description) == kind


def test_kind_of_an_untagged_description_is_the_default() -> None:
    assert kind_of_snomed("Never smoker", default="finding") == "finding"
    assert kind_of_snomed("Hypertension", default="symptom") == "symptom"


SOCIAL_EXAMPLES = [
    "Full-time employment (finding)",
    "Part-time employment (finding)",
    "Not in labor force (finding)",
    "Received higher education (finding)",
    "Only received primary school education (finding)",
    "Housing unsatisfactory (finding)",
    "Homeless (finding)",
    "Lack of access to transportation (finding)",
    "Social isolation (finding)",
    "Limited social contact (finding)",
    "Has a criminal record (finding)",
    "Victim of intimate partner abuse (finding)",
    "Reports of violence in the environment (finding)",
    "Refugee (person)",
    "Served in armed forces (finding)",
    "Medication review due (situation)",
    "Stress (finding)",
]
CLINICAL_EXAMPLES = [
    "Viral sinusitis (disorder)",
    "Fever (finding)",
    "Chronic low back pain (finding)",
    "Body mass index 30+ - obesity (finding)",
    "Hypertension",
    "Anemia (disorder)",
    "Severe anxiety (panic) (finding)",
]


def test_is_social_separates_social_from_clinical_concepts() -> None:
    flags = is_social(pd.Series(SOCIAL_EXAMPLES + CLINICAL_EXAMPLES + [None]))
    expected = [True] * len(SOCIAL_EXAMPLES) + [False] * (len(CLINICAL_EXAMPLES) + 1)
    assert flags.tolist() == expected
    assert flags.dtype == bool


def test_every_social_pattern_matches_something_social() -> None:
    examples = [
        *SOCIAL_EXAMPLES,
        "Unemployed (finding)",
        "Transport problem (finding)",
        "Risk activity involvement (finding)",
        "Misuses drugs (finding)",
        "Unhealthy alcohol drinking behavior (finding)",
        "Dependent drug abuse (disorder)",
        "Died in hospice (finding)",
        "Incarceration (finding)",
        "Health insurance lapsed (finding)",
        "Medication review due (situation)",
        "Employed (finding)",
        "Completed military service (finding)",
    ]
    for pattern in SOCIAL_PATTERNS:
        assert any(re.search(pattern, text, re.IGNORECASE) for text in examples), pattern


@pytest.mark.parametrize(
    ("product", "expected"),
    [
        ("lisinopril 10 MG Oral Tablet", ["lisinopril"]),
        ("amLODIPine 2.5 MG Oral Tablet", ["amlodipine"]),
        ("Hydrochlorothiazide 25 MG Oral Tablet", ["hydrochlorothiazide"]),
        ("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", ["metformin"]),
        ("Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet", ["amoxicillin", "clavulanate"]),
        ("Penicillin V Potassium 250 MG Oral Tablet", ["penicillin v"]),
        (
            "Acetaminophen 21.7 MG/ML / Dextromethorphan Hydrobromide 1 MG/ML / doxylamine "
            "succinate 0.417 MG/ML Oral Solution",
            ["acetaminophen", "dextromethorphan", "doxylamine"],
        ),
        ("Acetaminophen 325 MG Oral Tablet [Tylenol]", ["acetaminophen"]),
        ("NDA020503 200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", ["albuterol"]),
        ("120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", ["fluticasone"]),
        (
            "insulin isophane  human 70 UNT/ML / insulin  regular  human 30 UNT/ML Injectable "
            "Suspension [Humulin]",
            ["insulin"],
        ),
        ("Vitamin B 12 5 MG/ML Injectable Solution", ["vitamin b12"]),
        ("ferrous sulfate 325 MG Oral Tablet", ["ferrous sulfate"]),
        ("Sodium Chloride 9 MG/ML Injectable Solution", ["sodium chloride"]),
        ("1 ML Enoxaparin sodium 150 MG/ML Prefilled Syringe", ["enoxaparin"]),
        ("Azithromycin 250mg", ["azithromycin"]),
        ("Camila 28 Day Pack", ["camila"]),
    ],
)
def test_ingredients_of_synthea_products(product: str, expected: list[str]) -> None:
    assert ingredients(product) == expected


@pytest.mark.shared_data
def test_every_real_product_has_an_ingredient(shared_data: Path) -> None:
    products: set[str] = set()
    for folder in ("synthea_csv_111_unmc", "synthea_csv_59_ca/csv", "synthea_csv_543_partial"):
        table = pd.read_csv(shared_data / folder / "medications.csv", usecols=["DESCRIPTION"])
        products |= set(table["DESCRIPTION"])
    for product in products:
        found = ingredients(product)
        assert found, product
        for name in found:
            # A name, never a strength, a dose form or a leftover unit.
            assert name == name.strip(), (product, name)
            assert name[0].isalpha(), (product, name)
            assert not any(word in name.split() for word in ("mg", "ml", "oral", "tablet")), (
                product,
                name,
            )


# -- reference ranges ------------------------------------------------------------------


def _flag(
    codes: list[str], values: list[object], units: list[str | None], **kw: object
) -> pd.DataFrame:
    table = pd.DataFrame({"code": codes, "value": values, "unit": units})
    return flag_observations(table, **kw)  # type: ignore[arg-type]


def test_flags_at_the_bounds() -> None:
    # High is "at or above", low is "below".
    judged = _flag(
        ["4548-4", "4548-4", "8867-4", "8867-4", "8867-4"],
        ["6.5", "6.49", "49.9", "50", "100"],
        ["%", "%", "/min", "/min", "/min"],
    )
    assert judged["finding"].tolist() == [
        "HbA1c high",
        pd.NA,
        "heart rate low",
        pd.NA,
        "heart rate high",
    ]
    assert judged["finding_code"].tolist()[0] == "4548-4-high"
    assert judged["status"].tolist() == ["flagged", "in range", "flagged", "in range", "flagged"]


def test_statuses_for_values_that_cannot_be_judged() -> None:
    judged = _flag(
        ["4548-4", "4548-4", "4548-4", "29463-7", None],
        ["7.0", "abc", None, "80", "1"],
        ["mmol/mol", "%", "%", "kg", "%"],
    )
    assert judged["status"].tolist() == [
        "unit mismatch",
        "not a number",
        "not a number",
        "no range",
        "no range",
    ]
    assert judged["finding"].isna().all()


def test_numbers_and_other_columns_pass_through() -> None:
    table = pd.DataFrame(
        {"code": ["2093-3"], "value": [np.float64(250.0)], "unit": ["mg/dL"], "patient": ["p1"]}
    )
    judged = flag_observations(table)
    assert judged.loc[0, "finding"] == "total cholesterol high"
    assert judged.loc[0, "patient"] == "p1"


def test_custom_ranges_replace_the_defaults() -> None:
    ranges = {"4548-4": ReferenceRange("HbA1c", "%", high=5.7)}
    judged = _flag(["4548-4", "8480-6"], ["6.0", "150"], ["%", "mm[Hg]"], ranges=ranges)
    assert judged["finding"].tolist() == ["HbA1c high", pd.NA]
    assert judged["status"].tolist() == ["flagged", "no range"]


def test_bad_ranges_and_tables_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="neither low nor high"):
        _flag(["1"], ["1"], ["%"], ranges={"1": ReferenceRange("x", "%")})
    with pytest.raises(ParameterError, match=r"observations need columns \['unit'\]"):
        flag_observations(pd.DataFrame({"code": ["1"], "value": [1]}))


def test_reference_ranges_are_frozen_and_well_formed() -> None:
    rng = REFERENCE_RANGES["4548-4"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rng.high = 7.0  # type: ignore[misc]
    for code, entry in REFERENCE_RANGES.items():
        assert entry.low is not None or entry.high is not None, code
        if entry.low is not None and entry.high is not None:
            assert entry.low < entry.high, code
        assert entry.unit, code
