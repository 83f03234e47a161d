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
    _SEMANTIC_TAGS,
    CANONICAL_UNITS,
    REFERENCE_RANGES,
    SNOMED_TAGS,
    SOCIAL_PATTERNS,
    STATUSES,
    UNTAGGED_PATTERNS,
    ReferenceRange,
    allergy_findings,
    flag_observations,
    ingredients,
    is_social,
    kind_of_snomed,
    kinds_of_snomed,
    semantic_tag,
    semantic_tags,
    snomed_tag,
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


def test_tags_and_kinds_of_a_column_are_those_of_each_description() -> None:
    descriptions = pd.Series(
        ["Cough (finding)", None, "Cough (finding)", "Hypertension", "Renal dialysis (procedure)"]
    )
    assert semantic_tags(descriptions).tolist() == [
        "finding",
        pd.NA,
        "finding",
        pd.NA,
        "procedure",
    ]
    assert kinds_of_snomed(descriptions, default="finding").tolist() == [
        "symptom",
        "finding",
        "symptom",
        "finding",
        "procedure",
    ]


# -- concepts that are no disease, with or without a tag ------------------------------


@pytest.mark.parametrize(
    ("description", "code", "kind"),
    [
        # Older Synthea writes these without a tag; the code says what they are.
        ("Suspected COVID-19", "840544004", "finding"),
        ("COVID-19", "840539006", "disease"),
        ("Normal pregnancy", "72892002", "finding"),
        ("Non-low risk pregnancy", "47200007", "finding"),
        ("History of appendectomy", "428251008", "finding"),
        ("Prediabetes", "15777000", "finding"),
        ("Chronic pain", "82423001", "symptom"),
        ("Protracted diarrhea", "236077008", "symptom"),
        # Disorders of pregnancy stay diseases.
        ("Preeclampsia", "398254007", "disease"),
        ("Antepartum eclampsia", "198992004", "disease"),
        ("Miscarriage in first trimester", "19169002", "disease"),
        ("Tubal pregnancy", "79586000", "disease"),
        ("Fetus with unknown complication", "156073000", "disease"),
        ("Hypertension", "59621000", "disease"),
        # Newer Synthea tags them: the tag gives the same kind.
        ("Suspected disease caused by severe acute respiratory coronavirus 2 (situation)", "840544004", "finding"),
        ("Normal pregnancy (finding)", "72892002", "finding"),
        ("Prediabetes (finding)", "714628002", "finding"),
        ("Complete miscarriage (disorder)", "156073000", "disease"),
    ],
)  # fmt: skip
def test_an_untagged_code_takes_the_tag_snomed_gives_it(
    description: str, code: str, kind: str
) -> None:
    assert kind_of_snomed(description, code=code) == kind
    codes = pd.Series([code, None], dtype="string")
    found = kinds_of_snomed(pd.Series([description, description]), codes=codes).tolist()
    assert found[0] == kind


@pytest.mark.parametrize(
    ("description", "tag", "kind"),
    [
        ("Suspected lung cancer", "situation", "finding"),
        ("Suspicion of sepsis", "situation", "finding"),
        ("History of stroke", "situation", "finding"),
        ("Family history of diabetes mellitus", "situation", "finding"),
        ("Medication review due", "situation", "finding"),
        ("Allergy to peanuts", "finding", "finding"),
        ("Intolerance to lactose", "finding", "finding"),
        ("Normal pregnancy", "finding", "finding"),
        ("Pregnancy", "finding", "finding"),
        ("Currently pregnant", "finding", "finding"),
        ("Screening for malignant neoplasm of cervix", "procedure", "procedure"),
        ("Encounter for check up", "procedure", "procedure"),
        # Words that only look alike are left to the default.
        ("Tubal pregnancy", None, "disease"),
        ("Pregnancy induced hypertension", None, "disease"),
        ("Hypertension", None, "disease"),
    ],
)
def test_the_words_of_an_untagged_description_imply_its_tag(
    description: str, tag: str | None, kind: str
) -> None:
    assert snomed_tag(description) == tag
    assert kind_of_snomed(description) == kind


def test_a_description_tag_wins_over_the_code_and_the_words() -> None:
    assert kind_of_snomed("Suspected COVID-19 (disorder)", code="840544004") == "disease"
    assert snomed_tag("History of appendectomy (disorder)", code="428251008") == "disorder"
    # The code's tag wins over the words.
    assert snomed_tag("Suspected COVID-19", code="840539006") == "disorder"


def test_a_code_of_another_system_is_not_looked_up() -> None:
    descriptions = pd.Series(["Normal pregnancy", "Suspected COVID-19", "Prediabetes"])
    codes = pd.Series([pd.NA, pd.NA, pd.NA], dtype="string")
    # ICD-10 R73.03 is not SNOMED CT 15777000: only words can tell.
    assert kinds_of_snomed(descriptions, codes=codes).tolist() == ["finding", "finding", "disease"]
    assert semantic_tags(descriptions, codes=codes).isna().all()


def test_kinds_of_a_column_with_codes_are_those_of_each_pair() -> None:
    descriptions = pd.Series(
        ["Suspected COVID-19", "Hypertension", None, "Suspected COVID-19", None, "Cough (finding)"]
    )
    codes = pd.Series(["840544004", "59621000", "72892002", "840544004", None, "49727002"])
    expected = [
        kind_of_snomed(d, code=c) if d is not None else "finding" if c else "disease"
        for d, c in zip(descriptions, codes, strict=True)
    ]
    assert kinds_of_snomed(descriptions, codes=codes).tolist() == expected
    assert semantic_tags(descriptions, codes=codes).tolist() == [
        "situation",
        "disorder",
        "finding",
        "situation",
        pd.NA,
        "finding",
    ]


def test_the_table_of_untagged_codes_is_well_formed() -> None:
    assert all(re.fullmatch(r"[1-9]\d{5,17}", code) for code in SNOMED_TAGS)
    assert set(SNOMED_TAGS.values()) <= set(_SEMANTIC_TAGS)
    for pattern, tag in UNTAGGED_PATTERNS:
        re.compile(pattern)
        assert tag in _SEMANTIC_TAGS


_EXPORTS = ("synthea_csv_543_partial", "synthea_csv_111_unmc", "synthea_csv_59_ca/csv")


@pytest.mark.shared_data
def test_every_untagged_synthea_condition_is_in_the_table(shared_data: Path) -> None:
    """Each code the real exports write without a tag has SNOMED CT's tag in the table,
    and where another description of the code carries a tag, it is that one."""
    conditions = pd.concat(
        [pd.read_csv(shared_data / name / "conditions.csv", dtype=str) for name in _EXPORTS]
    )
    tags = conditions["DESCRIPTION"].map(semantic_tag)
    untagged = set(conditions.loc[tags.isna(), "CODE"])
    assert len(untagged) > 80
    assert untagged <= set(SNOMED_TAGS), sorted(untagged - set(SNOMED_TAGS))
    written = conditions.assign(tag=tags).dropna(subset=["tag"])
    written = written[written["CODE"].isin(list(SNOMED_TAGS))]
    assert len(written) > 10
    for code, tag in zip(written["CODE"], written["tag"], strict=True):
        assert SNOMED_TAGS[code] == tag, code


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
# The questions of a social-needs questionnaire (PRAPARE), as Synthea's
# observations.csv and its FHIR export write them.
SOCIAL_QUESTIONS = [
    "Which race(s) are you?",
    "Are you Hispanic or Latino?",
    "What language are you most comfortable speaking?",
    "What address do you live at?",
    "During the past year, what was the total combined income for you and the family members "
    "you live with?",
    "What is your current work situation?",
    "What is your housing situation today?",
    "What is your main insurance?",
    "In the past year, have you been afraid of your partner or ex-partner?",
    "What is the highest level of school that you have finished?",
    "Do you feel physically and emotionally safe where you currently live?",
    "In the past year, have you spent more than 2 nights in a row in a jail, prison, detention "
    "center, or juvenile correctional facility?",
    "At any point in the past 2 years, has season or migrant farm work been your or your "
    "family's main source of income?",
    "How often do you see or talk to people that you care about and feel close to?",
    "How many family members, including yourself, do you currently live with?",
    "Have you been discharged from the armed forces of the United States?",
    "Has lack of transportation kept you from medical appointments?",
    "Stress is when someone feels tense, nervous, anxious or can't sleep at night. How stressed "
    "are you?",
    "Marital status",
    "Ethnicity",
]
CLINICAL_EXAMPLES = [
    "Viral sinusitis (disorder)",
    "Fever (finding)",
    "Chronic low back pain (finding)",
    "Body mass index 30+ - obesity (finding)",
    "Hypertension",
    "Anemia (disorder)",
    "Severe anxiety (panic) (finding)",
    # Clinical questions and tests stay.
    "Tobacco smoking status NHIS",
    "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "Hemoglobin A1c/Hemoglobin.total in Blood",
    "Expressive language delay (finding)",
    "Race-walking injury (disorder)",
    # A disorder is a diagnosis and a procedure care given, whatever their words.
    "Dependent drug abuse (disorder)",
    "Health risks education (procedure)",
    "Heart failure education (procedure)",
    "Alcohol abuse counseling and education (regime/therapy)",
]


def test_is_social_separates_social_from_clinical_concepts() -> None:
    social = SOCIAL_EXAMPLES + SOCIAL_QUESTIONS
    flags = is_social(pd.Series(social + CLINICAL_EXAMPLES + [None]))
    assert dict(zip(social + CLINICAL_EXAMPLES, flags, strict=False)) == {
        **dict.fromkeys(social, True),
        **dict.fromkeys(CLINICAL_EXAMPLES, False),
    }
    assert not flags.iloc[-1]
    assert flags.dtype == bool


def test_is_social_reads_each_distinct_description_alike() -> None:
    descriptions = pd.Series(["Stress (finding)", "Fever (finding)"] * 3 + [None])
    assert is_social(descriptions).tolist() == [True, False] * 3 + [False]


def test_every_social_pattern_matches_something_social() -> None:
    examples = [
        *SOCIAL_EXAMPLES,
        "Unemployed (finding)",
        "Transport problem (finding)",
        "Risk activity involvement (finding)",
        "Misuses drugs (finding)",
        "Unhealthy alcohol drinking behavior (finding)",
        "Died in hospice (finding)",
        "Incarceration (finding)",
        "Health insurance lapsed (finding)",
        "Medication review due (situation)",
        "Employed (finding)",
        "Completed military service (finding)",
        *SOCIAL_QUESTIONS,
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


def test_a_unit_alias_is_judged_as_it_is_another_unit_converted() -> None:
    # Synthea writes eGFR in mL/min before version 3 and in mL/min/{1.73_m2} since.
    judged = _flag(
        ["33914-3", "33914-3", "33914-3", "33914-3"],
        ["45", "45", "0.75", "45"],
        ["mL/min/{1.73_m2}", "mL/min", "mL/s", "mL"],
    )
    assert judged["status"].tolist() == ["flagged", "flagged", "flagged", "unit mismatch"]
    assert judged["finding"].tolist()[:3] == ["eGFR low", "eGFR low", "eGFR low"]
    assert judged["value"].tolist() == ["45", "45", "0.75", "45"]
    assert judged["canonical_value"].tolist()[:3] == [45.0, 45.0, 45.0]
    assert judged["canonical_unit"].tolist() == ["mL/min/{1.73_m2}"] * 3 + [pd.NA]
    assert REFERENCE_RANGES["33914-3"].units == ("mL/min/{1.73_m2}", "mL/min")
    own = {"4548-4": ReferenceRange("HbA1c", "%", high=6.5, aliases=("percent",))}
    assert _flag(["4548-4"], ["7"], ["percent"], ranges=own)["status"].tolist() == ["flagged"]


@pytest.mark.parametrize(
    ("code", "value", "unit", "finding", "canonical"),
    [
        ("2339-0", "7.0", "mmol/L", "glucose high", 126.112),
        ("2339-0", "6.9", "mmol/l", None, 124.3104),
        ("2339-0", "3.8", "mmol/L", "glucose low", 68.4608),
        ("2093-3", "6.3", "mmol/L", "total cholesterol high", 243.5895),
        ("2085-9", "1.0", "mmol/L", "HDL cholesterol low", 38.665),
        ("18262-6", "4.0", "mmol/L", None, 154.66),
        ("2571-8", "2.3", "mmol/L", "triglycerides high", 203.711),
        ("38483-4", "120", "umol/L", "creatinine high", 1.35744),
        ("2160-0", "80", "µmol/L", None, 0.90496),
        ("8310-5", "100.4", "[degF]", "body temperature high", 38.0),
        ("8310-5", "100.3", "°F", None, 37.9444444444),
        ("8310-5", "94.0", "degF", "body temperature low", 34.4444444444),
        ("8310-5", "311.15", "K", "body temperature high", 38.0),
        ("8480-6", "19.0", "kPa", "systolic blood pressure high", 19 / 0.133322387415),
        ("8867-4", "110", "bpm", "heart rate high", 110.0),
        ("718-7", "110", "g/L", "hemoglobin low", 11.0),
        ("6690-2", "12000", "/uL", "leukocytes high", 12.0),
        ("777-3", "140", "10*9/L", "platelets low", 140.0),
    ],
)
def test_a_value_in_another_unit_is_converted_then_judged(
    code: str, value: str, unit: str, finding: str | None, canonical: float
) -> None:
    judged = _flag([code], [value], [unit])
    assert judged.loc[0, "status"] == ("flagged" if finding else "in range")
    assert judged["finding"].fillna("").tolist() == [finding or ""]
    assert judged.loc[0, "canonical_value"] == pytest.approx(canonical, rel=1e-9)
    assert judged.loc[0, "canonical_unit"] == REFERENCE_RANGES[code].unit
    assert judged.loc[0, "value"] == value
    assert judged.loc[0, "unit"] == unit


@pytest.mark.parametrize(
    ("code", "unit"),
    [
        ("4548-4", "mmol/mol"),  # HbA1c IFCC: a master equation, not a unit conversion
        ("8310-5", "F"),  # farad or Fahrenheit: not guessed
        ("8310-5", "kg"),  # another dimension
        ("777-3", "K/uL"),  # kelvin per microlitre, as UCUM reads it
        ("718-7", "mmol/L"),  # hemoglobin has no molar mass: tetramer or monomer
        ("2339-0", "mmol/mol"),
        ("2339-0", "no such unit"),
        ("2339-0", None),
        ("2339-0", ""),
    ],
)
def test_a_unit_that_does_not_convert_is_a_unit_mismatch(code: str, unit: str | None) -> None:
    judged = _flag([code], ["8"], [unit])
    assert judged["status"].tolist() == ["unit mismatch"]
    assert judged["finding"].isna().all()
    assert np.isnan(judged.loc[0, "canonical_value"])
    assert judged["canonical_unit"].isna().all()


def test_a_range_without_a_molar_mass_does_not_convert_amounts() -> None:
    own = {"2339-0": ReferenceRange("glucose", "mg/dL", high=126)}
    judged = _flag(["2339-0", "2339-0"], ["7.0", "0.0013"], ["mmol/L", "g/mL"], ranges=own)
    assert judged["status"].tolist() == ["unit mismatch", "flagged"]
    assert judged["canonical_value"].tolist()[1] == pytest.approx(130.0)


def test_values_without_a_range_are_given_in_their_canonical_unit() -> None:
    # Body weight has no range: not judged, but comparable in kg.
    judged = _flag(
        ["29463-7", "29463-7", "29463-7", "8302-2", "72514-3", "29463-7"],
        ["80", "176.37", "80", "70", "3", "x"],
        ["kg", "lbs", "Cel", "[in_i]", "{score}", "lb"],
    )
    assert judged["status"].tolist() == ["no range"] * 6
    assert judged["canonical_value"].tolist()[:2] == [80.0, pytest.approx(176.37 * 0.45359237)]
    assert judged["canonical_value"].tolist()[3] == pytest.approx(177.8)
    assert judged["canonical_unit"].tolist() == ["kg", "kg", pd.NA, "cm", pd.NA, pd.NA]
    # Canonical units of one's own replace the defaults.
    grams = _flag(["29463-7"], ["80"], ["kg"], canonical_units={"29463-7": "g"})
    assert grams["canonical_value"].tolist() == [80_000.0]
    assert _flag(["29463-7"], ["80"], ["kg"], canonical_units={})["canonical_unit"].isna().all()


def test_not_a_number_in_a_unit_that_converts_is_not_a_number() -> None:
    judged = _flag(["2339-0", "2339-0", "2339-0"], ["nan", None, "7.0"], ["mmol/L"] * 3)
    assert judged["status"].tolist() == ["not a number", "not a number", "flagged"]
    assert np.isnan(judged["canonical_value"].to_numpy()[:2]).all()
    assert judged["canonical_unit"].tolist()[:2] == [pd.NA, pd.NA]


@pytest.mark.parametrize("molar_mass", [0.0, -1.0, float("nan")])
def test_a_bad_molar_mass_is_a_parameter_error(molar_mass: float) -> None:
    own = {"2339-0": ReferenceRange("glucose", "mg/dL", high=126, molar_mass=molar_mass)}
    with pytest.raises(ParameterError, match="LOINC 2339-0 has molar_mass"):
        _flag(["2339-0"], ["7"], ["mmol/L"], ranges=own)


def test_substances_given_as_amounts_have_molar_masses() -> None:
    masses = {code: rng.molar_mass for code, rng in REFERENCE_RANGES.items() if rng.molar_mass}
    assert masses == {
        "2339-0": 180.16,
        "2345-7": 180.16,
        "18262-6": 386.65,
        "2093-3": 386.65,
        "2085-9": 386.65,
        "2571-8": 885.7,
        "38483-4": 113.12,
        "2160-0": 113.12,
    }
    for code in CANONICAL_UNITS:
        assert code not in REFERENCE_RANGES


def test_statuses_are_those_flag_observations_gives() -> None:
    judged = _flag(
        ["4548-4", "4548-4", "29463-7", "4548-4", "4548-4"],
        ["7", "5", "80", "7", "x"],
        ["%", "%", "kg", "mmol/mol", "%"],
    )
    assert tuple(judged["status"]) == STATUSES


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


# -- allergies --------------------------------------------------------------------------


def test_allergies_are_named_for_their_substance_unless_coded_as_themselves() -> None:
    labels, itself = allergy_findings(
        pd.Series(
            [
                "Peanut (substance)",
                "Lisinopril",
                "Allergy to substance (finding)",
                "Allergy to peanuts",
                "HIV antigen (substance)",
                "Allergy to mould",
            ]
        ),
        snomed=[True, False, True, True, True, False],
        intolerance=[False, True, False, False, False, False],
    )
    assert labels.tolist() == [
        "Allergy to peanut",
        "Intolerance to lisinopril",
        "Allergy to substance",
        "Allergy to peanuts",
        "Allergy to HIV antigen",
        "Allergy to mould",
    ]
    # Only a SNOMED CT code can name the allergy itself.
    assert itself.tolist() == [False, False, True, True, False, False]
