"""read_synthea: small exports written here, and the three real exports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed import (
    ColumnNotFound,
    EmptyRecordsError,
    MissingValueError,
    ParameterError,
    RecordsError,
    RecordsFileError,
    RecordsFileNotFound,
)
from kgmed.records import MEASUREMENT_COLUMNS
from kgmed.records.synthea import KEPT_COLUMNS, read_synthea
from kgmed.records.vocab import ReferenceRange, ingredients

CONDITIONS = "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n"
MEDICATIONS = (
    "START,STOP,PATIENT,PAYER,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,PAYER_COVERAGE,"
    "DISPENSES,TOTALCOST,REASONCODE,REASONDESCRIPTION\n"
)
OBSERVATIONS = "DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE\n"
PROCEDURES = (
    "START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,REASONCODE,REASONDESCRIPTION\n"
)
ALLERGIES = "START,STOP,PATIENT,ENCOUNTER,CODE,SYSTEM,DESCRIPTION,TYPE,CATEGORY\n"
PATIENTS = "Id,BIRTHDATE,DEATHDATE,GENDER\n"
ENCOUNTERS = "Id,START,STOP,PATIENT,ENCOUNTERCLASS,CODE,DESCRIPTION\n"

SINUSITIS = "444814009,Viral sinusitis (disorder)"
AMOXICILLIN = "308182,Amoxicillin 250 MG Oral Capsule"

Export = Callable[..., Path]


def condition(patient: str, encounter: str, coded: str, start: str = "2020-01-02") -> str:
    return f"{start},,{patient},{encounter},{coded}\n"


def medication(
    patient: str, encounter: str, product: str, reason: str = ",", start: str = "2020-01-02"
) -> str:
    return f"{start}T10:00:00Z,,{patient},payer,{encounter},{product},1,0,1,1,{reason}\n"


def observation(
    patient: str, code: str, value: str, unit: str, kind: str = "numeric", date: str = "2020-01-02"
) -> str:
    return f"{date}T10:00:00Z,{patient},e-{patient},laboratory,{code},test,{value},{unit},{kind}\n"


@pytest.fixture
def export(tmp_path: Path) -> Export:
    """Write a Synthea export: file name (without .csv) -> text; returns the folder."""

    def write(folder: str = "csv", **tables: str | bytes) -> Path:
        path = tmp_path / folder
        path.mkdir(parents=True, exist_ok=True)
        for name, text in tables.items():
            file = path / f"{name}.csv"
            if isinstance(text, bytes):
                file.write_bytes(text)
            else:
                file.write_text(text, encoding="utf-8", newline="")
        return path

    return write


@pytest.fixture
def small(export: Export) -> Path:
    """Two patients: sinusitis treated with amoxicillin, hypertension, a social finding."""
    return export(
        conditions=CONDITIONS
        + condition("p1", "e1", SINUSITIS)
        + condition("p1", "e1", "160903007,Full-time employment (finding)")
        + condition("p1", "e2", "59621000,Hypertension", start="2021-03-04")
        + condition("p2", "e3", "49727002,Cough (finding)")
        + condition("p2", "e3", "314529007,Medication review due (situation)")
        + condition("p2", "e4", "162864005,Body mass index 30+ - obesity (finding)"),
        medications=MEDICATIONS
        + medication("p1", "e1", AMOXICILLIN, SINUSITIS)
        + medication("p1", "e2", "314076,lisinopril 10 MG Oral Tablet", "59621000,Hypertension")
        + medication(
            "p2",
            "e3",
            "1049221,Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet",
        ),
    )


def _read(folder: Path, **options: object) -> kgmed.Records:
    return read_synthea(folder, **options)  # type: ignore[arg-type]


# -- mapping ----------------------------------------------------------------------------


def test_conditions_get_snomed_ids_kinds_and_clean_labels(small: Path) -> None:
    data = _read(small).data
    rows = data.loc[data["system"] == "SNOMEDCT"].set_index("concept_id")
    assert rows.loc["SNOMEDCT:444814009", "label"] == "Viral sinusitis"
    assert rows.loc["SNOMEDCT:444814009", "kind"] == "disease"
    assert rows.loc["SNOMEDCT:59621000", "kind"] == "disease"  # untagged: a condition
    assert rows.loc["SNOMEDCT:49727002", "kind"] == "symptom"
    assert rows.loc["SNOMEDCT:162864005", "kind"] == "finding"
    assert rows.loc["SNOMEDCT:444814009", "time"] == pd.Timestamp("2020-01-02", tz="UTC")
    assert rows.loc["SNOMEDCT:444814009", "encounter_id"] == "e1"


@pytest.mark.parametrize(
    ("description", "kind"),
    [
        ("Acute bronchitis (disorder)", "disease"),
        ("Fever (finding)", "symptom"),
        ("Body mass index 30+ - obesity (finding)", "finding"),
        ("Awaiting transplantation of kidney (situation)", "finding"),
        ("History of appendectomy", "finding"),
        ("Patient transfer to skilled nursing facility (procedure)", "procedure"),
        ("Burn injury (morphologic abnormality)", "disease"),
        ("Severe anxiety (panic) (finding", "symptom"),
        ("Hyperlipidemia", "disease"),
    ],
)
def test_kind_follows_the_semantic_tag(export: Export, description: str, kind: str) -> None:
    folder = export(conditions=CONDITIONS + condition("p1", "e1", f"123,{description}"))
    assert _read(folder).data["kind"].tolist() == [kind]


def test_a_code_with_and_without_its_tag_takes_the_tagged_kind(export: Export) -> None:
    # Synthea writes 82423001 both as "Chronic pain" and "Chronic pain (finding)".
    folder = export(
        conditions=CONDITIONS
        + condition("p1", "e1", "82423001,Chronic pain")
        + condition("p2", "e2", "82423001,Chronic pain")
        + condition("p3", "e3", "82423001,Chronic pain (finding)")
    )
    data = _read(folder).data
    assert set(data["kind"]) == {"symptom"}
    assert set(data["label"]) == {"Chronic pain"}


def test_social_concepts_are_left_out_and_counted(small: Path) -> None:
    records = _read(small)
    assert not records.data["label"].str.contains("employment|review due").any()
    assert records.report.files["conditions.csv"]["social"] == 2
    assert records.report.dropped["social"] == 2
    kept = _read(small, social=True)
    assert {"Full-time employment", "Medication review due"} <= set(kept.data["label"])
    assert "social" not in kept.report.dropped


def test_medications_are_ingredients_with_the_product_kept(small: Path) -> None:
    data = _read(small).data
    drugs = data.loc[data["kind"] == "treatment"].set_index("concept_id")
    assert list(drugs.index) == [
        "local:amoxicillin",
        "local:lisinopril",
        "local:acetaminophen",
        "local:oxycodone",
    ]
    assert drugs.loc["local:lisinopril", "product"] == "lisinopril 10 MG Oral Tablet"
    assert drugs.loc["local:lisinopril", "product_code"] == "RXNORM:314076"
    assert drugs.loc["local:oxycodone", "product_code"] == "RXNORM:1049221"
    assert drugs.loc["local:amoxicillin", "reason_id"] == "SNOMEDCT:444814009"
    assert pd.isna(drugs.loc["local:oxycodone", "reason_id"])
    assert list(data.columns[-len(KEPT_COLUMNS) :]) == list(KEPT_COLUMNS)


def test_a_combination_product_gives_one_observation_per_ingredient(small: Path) -> None:
    report = _read(small).report
    # Three rows, four observations: the combination product counts twice.
    assert report.files["medications.csv"] == {"read": 4, "kept": 4}
    assert any("3 rows" in note and "4 in all" in note for note in report.notes)


def test_without_ingredients_each_product_is_its_rxnorm_concept(small: Path) -> None:
    records = _read(small, ingredients=False)
    drugs = records.data.loc[records.data["kind"] == "treatment"]
    assert drugs["concept_id"].tolist() == ["RXNORM:308182", "RXNORM:314076", "RXNORM:1049221"]
    assert drugs["label"].tolist()[0] == "Amoxicillin 250 MG Oral Capsule"
    assert records.report.files["medications.csv"] == {"read": 3, "kept": 3}


def test_a_reason_without_code_is_named_by_its_label(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS + condition("p1", "e1", SINUSITIS),
        medications=MEDICATIONS
        + medication("p1", "e1", AMOXICILLIN, ",Viral sinusitis (disorder)"),
    )
    data = _read(folder).data
    assert data["reason_id"].dropna().tolist() == ["local:viral_sinusitis"]


def test_recorded_reasons_become_treated_with_edges(export: Export) -> None:
    rows = [condition(f"p{i}", f"e{i}", SINUSITIS) for i in range(12)]
    meds = [medication(f"p{i}", f"e{i}", AMOXICILLIN, SINUSITIS) for i in range(12)]
    rows += [condition(f"q{i}", f"f{i}", "59621000,Hypertension") for i in range(30)]
    folder = export(conditions=CONDITIONS + "".join(rows), medications=MEDICATIONS + "".join(meds))
    kg = kgmed.build(_read(folder))
    edge = kg.edges("treated_with").set_index(["source", "target"])
    found = edge.loc[("SNOMEDCT:444814009", "local:amoxicillin")]
    assert found["n_recorded"] == 12
    assert "recorded" in found["provenance"]


def test_one_observation_per_encounter_and_duplicates_counted(export: Export) -> None:
    row = condition("p1", "e1", SINUSITIS)
    folder = export(
        conditions=CONDITIONS + row + row + condition("p1", "e2", SINUSITIS, start="2021-05-06")
    )
    records = _read(folder)
    assert records.data["encounter_id"].tolist() == ["e1", "e2"]
    assert records.report.files["conditions.csv"] == {"read": 3, "kept": 2, "duplicate": 1}
    assert records.report.dropped == {"duplicate": 1}


def test_encounter_baskets_drop_rows_without_an_encounter(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS
        + condition("p1", "e1", SINUSITIS)
        + condition("p1", "", "49727002,Cough (finding)")
    )
    records = _read(folder, basket="encounter")
    assert records.basket == "encounter"
    assert records.data["concept_id"].tolist() == ["SNOMEDCT:444814009"]
    assert records.report.files["conditions.csv"]["no encounter"] == 1
    assert len(_read(folder).data) == 2  # per patient, both are kept


def test_procedures_keep_their_kind_and_reason(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS + condition("p1", "e1", SINUSITIS),
        procedures=PROCEDURES
        + "2020-01-02,,p1,e1,117015009,Throat culture (procedure),10,43878008,Strep\n"
        + "2020-01-02,,p1,e1,104091002,Hemogram automated,10,,\n",
    )
    data = _read(folder).data.set_index("concept_id")
    assert data.loc["SNOMEDCT:117015009", "kind"] == "procedure"
    assert data.loc["SNOMEDCT:104091002", "kind"] == "procedure"
    assert data.loc["SNOMEDCT:117015009", "reason_id"] == "SNOMEDCT:43878008"


def test_older_procedures_with_a_date_column_are_read(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS + condition("p1", "e1", SINUSITIS),
        procedures="DATE,PATIENT,ENCOUNTER,CODE,DESCRIPTION,BASE_COST,REASONCODE,"
        "REASONDESCRIPTION\n2019-03-04,p1,e1,117015009,Throat culture (procedure),1,,\n",
    )
    data = _read(folder).data
    assert data.loc[data["kind"] == "procedure", "time"].tolist() == [
        pd.Timestamp("2019-03-04", tz="UTC")
    ]


def test_allergies_are_findings_named_for_their_substance(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS + condition("p1", "e1", SINUSITIS),
        allergies=ALLERGIES
        + "2020-01-02,,p1,e1,762952008,SNOMED-CT,Peanut (substance),allergy,food\n"
        + "2020-01-02,,p1,e1,29046,RxNorm,Lisinopril,intolerance,medication\n"
        + "2020-01-02,,p1,e1,419199007,SNOMED-CT,Allergy to substance (finding),allergy,x\n"
        + "2020-01-02,,p1,e1,7,MYCODES,Dust (substance),allergy,environment\n",
    )
    records = _read(folder)
    found = records.data.loc[records.data["kind"] == "finding"]
    assert found["concept_id"].tolist() == [
        "local:allergy_to_peanut",
        "local:intolerance_to_lisinopril",
        "SNOMEDCT:419199007",
        "local:allergy_to_dust",
    ]
    assert found["label"].tolist()[2] == "Allergy to substance"
    assert records.report.unknown_systems == {"MYCODES (allergies.csv)": 1}


# -- observations -----------------------------------------------------------------------


@pytest.fixture
def labs(export: Export) -> Path:
    return export(
        conditions=CONDITIONS + condition("a", "e-a", SINUSITIS),
        patients=PATIENTS + "a,1970-01-01,,F\nb,1980-06-01,,M\nkid,2015-01-01,,F\n",
        observations=OBSERVATIONS
        + observation("a", "4548-4", "7.1", "%")  # flagged
        + observation("b", "4548-4", "5.2", "%")  # in range
        + observation("b", "4548-4", "53", "mmol/mol")  # unit mismatch
        + observation("b", "4548-4", "n/a", "%")  # not a number
        + observation("b", "29463-7", "81.2", "kg")  # no range: body weight
        + observation("b", "2093-3", "Borderline", "", kind="text")
        + observation("kid", "39156-5", "15.1", "kg/m2")  # BMI of a child
        + observation("a", "QALY", "40", "a"),
    )


def test_numeric_observations_outside_their_range_become_findings(labs: Path) -> None:
    records = _read(labs)
    finding = records.data.loc[records.data["kind"] == "finding"]
    assert finding[["concept_id", "label", "value", "unit"]].values.tolist() == [
        ["local:hba1c_high", "HbA1c high", 7.1, "%"]
    ]
    assert records.report.files["observations.csv"] == {
        "read": 8,
        "kept": 1,
        "measurement in range": 1,
        "measurement unit mismatch": 1,
        "measurement not a number": 1,
        "measurement without reference range": 2,
        "observation value not numeric or coded": 1,
        "measurement of a patient under 18": 1,
    }


def test_every_numeric_value_is_kept_for_cohorts_with_its_status(labs: Path) -> None:
    records = _read(labs)
    measured = records.measurements
    assert measured is not None
    assert list(measured.columns) == list(MEASUREMENT_COLUMNS)
    assert measured["status"].tolist() == [
        "flagged",
        "in range",
        "unit mismatch",
        "not a number",
        "no range",
        "under 18",
        "no range",
    ]
    assert measured["value"].tolist()[:3] == [7.1, 5.2, 53.0]
    assert measured["concept_id"].tolist()[:2] == ["LOINC:4548-4", "LOINC:4548-4"]
    assert measured["concept_id"].tolist()[-1] == "local:test"  # QALY is Synthea's own code
    # A finding only where the value became one: a child's BMI is not "BMI low".
    assert measured["finding"].tolist()[0] == "HbA1c high"
    assert measured["finding"].iloc[1:].isna().all()
    assert records.report.measurements == {
        "flagged": 1,
        "in range": 1,
        "no range": 2,
        "unit mismatch": 1,
        "not a number": 1,
        "under 18": 1,
    }
    assert records.report.unknown_systems == {"not LOINC (observations.csv: QALY)": 1}


def test_reference_ranges_and_the_adult_age_are_options(labs: Path) -> None:
    strict = {"4548-4": ReferenceRange("HbA1c", "%", high=5.0)}
    data = _read(labs, ranges=strict).data
    assert (data["label"] == "HbA1c high").sum() == 2
    everyone = _read(labs, adult_age=None).data
    assert "BMI low" in set(everyone["label"])


def test_without_birth_dates_every_patient_is_judged(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS + condition("kid", "e", SINUSITIS),
        observations=OBSERVATIONS + observation("kid", "39156-5", "15.1", "kg/m2"),
    )
    records = _read(folder)
    assert "BMI low" in set(records.data["label"])
    assert (
        "1 measurements are of patients with no birth date (patients.csv, BIRTHDATE); adult "
        "reference ranges were applied to them"
    ) in records.report.notes


# -- the report -------------------------------------------------------------------------


def test_every_row_read_is_kept_or_dropped_for_one_reason(labs: Path, small: Path) -> None:
    for folder in (labs, small):
        report = _read(folder).report
        frame = report.files_frame()
        assert frame["read"].sum() == report.n_read
        assert frame["kept"].sum() == report.n_kept
        assert (frame["read"] == frame.drop(columns="read").sum(axis=1)).all()
        assert report.n_read == report.n_kept + report.n_dropped


def test_who_the_patients_are_comes_from_patients_csv(export: Export) -> None:
    sinusitis = "444814009,Viral sinusitis (disorder)"
    folder = export(
        conditions=CONDITIONS
        + condition("p1", "e1", sinusitis, start="2019-01-01")
        + condition("p1", "e2", "49727002,Cough (finding)", start="2020-05-31")
        + condition("p2", "e3", sinusitis, start="2021-01-01")
        + condition("p3", "e4", sinusitis, start="")
        + condition("p4", "e5", sinusitis, start="2020-03-01"),
        patients=PATIENTS
        + "p1,1980-06-01,,F\n"  # 39 on 2020-05-31, a day before her birthday
        + "p2,1950-01-01,2020-01-01,M\n"  # aged at his death, before his last row
        + "p3,2000-01-01,,F\n"  # no dated row: aged at the export's latest date
        + "p4,,,\n"  # nothing known
        + "p5,1990-01-01,,M\n",  # no observation: not in the table
    )
    records = _read(folder)
    patients = records.patients
    assert patients is not None
    assert patients.index.tolist() == ["p1", "p2", "p3", "p4"]
    assert patients["age"].tolist()[:3] == [39.0, 70.0, 21.0]
    assert patients["sex"].tolist()[:3] == ["female", "male", "female"]
    assert patients.loc["p4"].isna().all()
    assert "patients.csv: age and sex known for 3 of 4 patients" in records.report.notes


def test_a_gender_synthea_does_not_write_names_the_line(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS + condition("p1", "e1", "444814009,Viral sinusitis (disorder)"),
        patients=PATIENTS + "p1,1980-06-01,,F\np2,1980-06-01,,Q\n",
    )
    with pytest.raises(RecordsError, match=r"patients\.csv: column 'GENDER' holds 'Q' at line 3"):
        _read(folder)


def test_without_patients_csv_nothing_is_known_of_the_patients(export: Export) -> None:
    folder = export(conditions=CONDITIONS + condition("p1", "e1", "444814009,Viral sinusitis"))
    records = _read(folder)
    assert records.patients is None
    assert not any("age" in note for note in records.report.notes)


def test_missing_and_unread_files_are_noted(small: Path) -> None:
    (small / "careplans.csv").write_text("Id,START\n", encoding="utf-8")
    notes = _read(small).report.notes
    for name in ("observations.csv", "procedures.csv", "allergies.csv", "patients.csv"):
        assert any(note.startswith(f"{name}: not in the export") for note in notes)
    assert "not read: careplans.csv" in notes


def test_tables_chooses_what_is_read(small: Path) -> None:
    records = _read(small, tables=["conditions"])
    assert set(records.data["kind"]) <= {"disease", "symptom", "finding"}
    assert list(records.report.files) == ["conditions.csv"]
    assert "not read: medications.csv" in records.report.notes


def test_reference_tables_check_patients_and_encounters(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS + condition("p1", "e1", SINUSITIS) + condition("zz", "e9", SINUSITIS),
        patients=PATIENTS + "p1,1970-01-01,,F\np2,1980-01-01,,M\n",
        encounters=ENCOUNTERS + "e1,2020-01-02,,p1,wellness,1,x\n",
    )
    notes = _read(folder).report.notes
    assert "patients.csv: 2 patients, 1 of them with no observation kept" in notes
    assert "1 observations kept name a patient not in patients.csv" in notes
    assert "encounters.csv: 1 encounters; 1 observations kept name an encounter not in it" in notes


def test_the_report_prints_files_and_notes(small: Path) -> None:
    text = str(_read(small).report)
    assert "conditions.csv" in text
    assert "notes:" in text


def test_synthea_output_folder_is_read_through_its_csv_subfolder(small: Path) -> None:
    records = _read(small.parent)
    assert len(records) == len(_read(small))
    assert records.report.source.endswith("/csv")


def test_multiline_quoted_fields_keep_line_numbers(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS
        + '2020-01-01,,p1,e1,1,"Two\nlines (disorder)"\n'
        + "2020-01-01,,,e1,2,Fever (finding)\n"
    )
    with pytest.raises(
        MissingValueError, match=r"conditions\.csv: column 'PATIENT' is empty at line 4"
    ):
        _read(folder)


# -- bad input -------------------------------------------------------------------------


def test_a_folder_without_conditions_is_no_export(export: Export) -> None:
    folder = export(medications=MEDICATIONS, patients=PATIENTS)
    with pytest.raises(RecordsFileNotFound, match=r"csv: no conditions\.csv.*medications\.csv"):
        _read(folder)


def test_a_missing_folder_or_a_file_is_named(tmp_path: Path, small: Path) -> None:
    with pytest.raises(RecordsFileNotFound, match="nowhere: no such folder"):
        _read(tmp_path / "nowhere")
    with pytest.raises(RecordsFileError, match=r"conditions\.csv: is a file"):
        _read(small / "conditions.csv")


@pytest.mark.parametrize(
    ("table", "text", "column"),
    [
        ("conditions", "START,STOP,PATIENT,ENCOUNTER,SNOMED,DESCRIPTION\n", "CODE"),
        ("conditions", "DATE,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION\n", "START"),
        ("medications", MEDICATIONS.replace("REASONCODE", "REASON"), "REASONCODE"),
        ("observations", OBSERVATIONS.replace("UNITS", "UNIT"), "UNITS"),
        ("allergies", ALLERGIES.replace("PATIENT", "patient"), "PATIENT"),
        ("patients", "ID,BIRTHDATE\n", "Id"),
    ],
)
def test_a_renamed_column_is_named_with_its_file(
    export: Export, small: Path, table: str, text: str, column: str
) -> None:
    export(**{table: text})
    with pytest.raises(ColumnNotFound, match=rf"{table}\.csv: column '{column}' not found"):
        _read(small)


def test_a_truncated_file_names_its_last_line(export: Export) -> None:
    text = CONDITIONS + condition("p1", "e1", SINUSITIS) + "2020-01-02,,p2,e2,4448"
    folder = export(conditions=text)
    with pytest.raises(RecordsFileError, match=r"conditions\.csv: line 3 has 5 fields.*truncated"):
        _read(folder)


def test_a_file_cut_inside_quotes_is_named(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS + condition("p1", "e1", SINUSITIS) + '2020-01-02,,p2,e2,1,"Viral'
    )
    with pytest.raises(RecordsFileError, match="line 3 opens a quoted field that never closes"):
        _read(folder)


def test_a_malformed_line_is_named(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS
        + condition("p1", "e1", SINUSITIS)
        + "2020-01-02,,p1,e1,1,Sprain, ankle (disorder)\n"
        + condition("p1", "e1", SINUSITIS)
    )
    with pytest.raises(
        RecordsFileError, match=r"conditions\.csv: line 3 has 7 fields but the header has 6"
    ):
        _read(folder)


def test_a_date_that_does_not_parse_is_counted_and_named(export: Export) -> None:
    folder = export(
        conditions=CONDITIONS + condition("p1", "e1", SINUSITIS),
        medications=MEDICATIONS
        + medication("p1", "e1", AMOXICILLIN)
        + "2020-13-45,,p1,payer,e2,308182,Amoxicillin,1,0,1,1,,\n",
    )
    records = _read(folder)
    drugs = records.data[records.data["kind"] == "treatment"]
    assert drugs["time"].isna().tolist() == [False, True]
    assert records.report.files["medications.csv"]["dates not parsed"] == 1
    assert any(
        note.startswith(
            "medications.csv: column 'START' holds 1 value(s) that are not dates, "
            "such as '2020-13-45' at line 3; those rows are kept without a time"
        )
        for note in records.report.notes
    )


def test_a_row_without_patient_is_named(export: Export) -> None:
    folder = export(conditions=CONDITIONS + condition("", "e1", SINUSITIS))
    with pytest.raises(
        MissingValueError, match=r"conditions\.csv: column 'PATIENT' is empty at line 2"
    ):
        _read(folder)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "conditions.csv: the file is empty"),
        (CONDITIONS.encode() + b"2020-01-01,,p1,e1,12 34,x\n", "column 'CODE' holds '12 34'"),
        (
            b"START,STOP,PATIENT,ENCOUNTER,CODE,DESCRIPTION,CODE\n",
            "column 'CODE' appears 2 times",
        ),
    ],
)
def test_unreadable_content_is_named(export: Export, content: bytes, message: str) -> None:
    folder = export(conditions=content)
    with pytest.raises(RecordsError, match=message):
        _read(folder)


def test_a_file_in_another_encoding(export: Export) -> None:
    folder = export(conditions=CONDITIONS.encode() + b"2020-01-01,,p1,e1,1,Fi\xe8vre\n")
    with pytest.raises(RecordsFileError, match=r"conditions\.csv: line 2 is not utf-8 text"):
        read_synthea(folder, encoding="utf-8")
    records = read_synthea(folder)
    assert records.data["label"].tolist() == ["Fièvre"]
    note = "conditions.csv: read as Windows-1252 text: it is not UTF-8 (pass encoding= to choose)"
    assert note in records.report.notes


def test_an_export_of_only_social_concepts_is_empty(export: Export) -> None:
    folder = export(conditions=CONDITIONS + condition("p1", "e1", "73595000,Stress (finding)"))
    with pytest.raises(EmptyRecordsError, match="no observation kept of 1 read"):
        _read(folder)


@pytest.mark.parametrize(
    "options",
    [
        {"basket": "visit"},
        {"social": "no"},
        {"ingredients": 1},
        {"ranges": {"4548-4": (6.5, None)}},
        {"ranges": {"4548-4": ReferenceRange("HbA1c", "%")}},
        {"adult_age": -1},
        {"adult_age": "18"},
        {"tables": "conditions"},
        {"tables": ["conditions", "careplans"]},
        {"tables": []},
    ],
)
def test_bad_options_are_parameter_errors(small: Path, options: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        _read(small, **options)


# -- the real exports -------------------------------------------------------------------

SETS = {
    "111": "synthea_csv_111_unmc",
    "59": "synthea_csv_59_ca/csv",
    "543": "synthea_csv_543_partial",
}

#: Social and administrative descriptions in the three exports, listed by hand.
SOCIAL = {
    "Full-time employment (finding)",
    "Part-time employment (finding)",
    "Not in labor force (finding)",
    "Unemployed (finding)",
    "Stress (finding)",
    "Social isolation (finding)",
    "Limited social contact (finding)",
    "Medication review due (situation)",
    "Refugee (person)",
    "Has a criminal record (finding)",
    "Victim of intimate partner abuse (finding)",
    "Reports of violence in the environment (finding)",
    "Received higher education (finding)",
    "Only received primary school education (finding)",
    "Received certificate of high school equivalency (finding)",
    "Risk activity involvement (finding)",
    "Misuses drugs (finding)",
    "Unhealthy alcohol drinking behavior (finding)",
    "Homeless (finding)",
    "Housing unsatisfactory (finding)",
    "Lack of access to transportation (finding)",
    "Transport problem (finding)",
    "Transport problems (finding)",
    "Served in armed forces (finding)",
    "Died in hospice (finding)",
}


def _raw(shared_data: Path, key: str, table: str) -> pd.DataFrame:
    return pd.read_csv(shared_data / SETS[key] / f"{table}.csv", dtype=str)


@pytest.fixture(scope="module")
def real(shared_data: Path) -> dict[str, kgmed.Records]:
    return {key: read_synthea(shared_data / folder) for key, folder in SETS.items()}


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("key", "n_patients", "n_rows", "n_codes"),
    [("111", 111, 4428, 165), ("59", 58, 1534, 121), ("543", 528, 18819, 185)],
)
def test_real_conditions_are_all_read(
    shared_data: Path, key: str, n_patients: int, n_rows: int, n_codes: int
) -> None:
    raw = _raw(shared_data, key, "conditions")
    assert (len(raw), raw["PATIENT"].nunique(), raw["CODE"].nunique()) == (
        n_rows,
        n_patients,
        n_codes,
    )
    records = read_synthea(shared_data / SETS[key], social=True, tables=["conditions"])
    report = records.report
    n_repeated = int(raw.duplicated(["PATIENT", "CODE", "ENCOUNTER", "START"]).sum())
    assert report.files["conditions.csv"]["read"] == n_rows
    assert report.n_kept == n_rows - n_repeated
    assert (records.n_patients, report.n_concepts) == (n_patients, n_codes)
    # Every row is there, with its patient, code, encounter and date.
    kept = records.data.assign(START=records.data["time"].dt.strftime("%Y-%m-%d"))
    mine = kept[["patient_id", "code", "encounter_id", "START"]].astype(str).values.tolist()
    theirs = raw.drop_duplicates(["PATIENT", "CODE", "ENCOUNTER", "START"])
    assert sorted(mine) == sorted(theirs[["PATIENT", "CODE", "ENCOUNTER", "START"]].values.tolist())


@pytest.mark.shared_data
@pytest.mark.parametrize("key", list(SETS))
def test_real_reports_account_for_every_row(
    shared_data: Path, real: dict[str, kgmed.Records], key: str
) -> None:
    report = real[key].report
    frame = report.files_frame()
    assert "dates not parsed" not in frame
    assert (frame["read"] == frame.drop(columns="read").sum(axis=1)).all()
    assert report.n_read == report.n_kept + report.n_dropped == frame["read"].sum()
    conditions = _raw(shared_data, key, "conditions")
    assert report.files["conditions.csv"]["read"] == len(conditions)
    assert report.files["conditions.csv"]["social"] == conditions["DESCRIPTION"].isin(SOCIAL).sum()
    medications = _raw(shared_data, key, "medications")
    per_row = medications["DESCRIPTION"].map(lambda text: len(ingredients(text)))
    assert report.files["medications.csv"]["read"] == per_row.sum()
    allergies = _raw(shared_data, key, "allergies")
    assert report.files["allergies.csv"] == {"read": len(allergies), "kept": len(allergies)}


@pytest.mark.shared_data
@pytest.mark.parametrize("key", list(SETS))
def test_real_kinds_follow_the_tags(
    shared_data: Path, real: dict[str, kgmed.Records], key: str
) -> None:
    raw = _raw(shared_data, key, "conditions")
    tags = raw["DESCRIPTION"].str.extract(r"\((disorder|finding|situation|person)\)$")[0]
    allowed = {
        "disorder": {"disease"},
        "finding": {"symptom", "finding"},
        "situation": {"finding"},
        "person": {"finding"},
    }
    kinds = real[key].data.drop_duplicates("code").set_index("code")["kind"]
    for code, tag in zip(raw["CODE"], tags, strict=True):
        if isinstance(tag, str) and code in kinds.index:
            assert kinds[code] in allowed[tag], (code, tag)
    assert not real[key].data["label"].str.contains(r"\((?:disorder|finding)\)").any()


#: The conditions the real exports write without a semantic tag that are no
#: disease, with the kind their SNOMED CT tag gives (checked by hand against
#: the fully specified names newer Synthea versions write).
NOT_DISEASES = {
    "840544004": "finding",  # Suspected COVID-19 (situation)
    "428251008": "finding",  # History of appendectomy (situation)
    "72892002": "finding",  # Normal pregnancy (finding)
    "47200007": "finding",  # Non-low risk pregnancy: High risk pregnancy (finding)
    "15777000": "finding",  # Prediabetes (finding)
    "82423001": "symptom",  # Chronic pain (finding)
    "236077008": "symptom",  # Protracted diarrhea (finding)
}


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("key", "n_changed"),
    # Untagged codes that no longer count as diseases (History of
    # appendectomy was a finding already, by its words).
    [("543", 6), ("111", 3), ("59", 4)],
)
def test_real_untagged_conditions_that_are_no_disease_are_not_diseases(
    shared_data: Path, real: dict[str, kgmed.Records], key: str, n_changed: int
) -> None:
    raw = _raw(shared_data, key, "conditions")
    raw = raw[~raw["DESCRIPTION"].isin(SOCIAL)]
    tags = raw["DESCRIPTION"].str.extract(r"\(([a-z /]+)\)?$")[0]  # some are cut short
    tag_of = tags.groupby(raw["CODE"]).first()
    # A disease: tagged a disorder, or written bare and none of NOT_DISEASES.
    expected = {
        code
        for code, tag in tag_of.items()
        if tag in ("disorder", "morphologic abnormality")
        or (not isinstance(tag, str) and code not in NOT_DISEASES)
    }
    kinds = real[key].concepts().set_index("code")["kind"]
    conditions = kinds[kinds.index.isin(raw["CODE"])]
    assert set(conditions.index[conditions == "disease"]) == expected
    # Before, every code never tagged was a disease but History of ...
    bare = {code for code, tag in tag_of.items() if not isinstance(tag, str)}
    changed = bare & set(NOT_DISEASES) - {"428251008"}
    assert len(changed) == n_changed
    for code in bare & set(NOT_DISEASES):
        assert conditions[code] == NOT_DISEASES[code], code
    by_label = real[key].concepts().set_index("label")["kind"]
    assert by_label["Suspected COVID-19"] == "finding"
    assert by_label["Normal pregnancy"] == "finding"
    assert by_label["COVID-19"] == "disease"
    assert by_label["Preeclampsia"] == "disease"
    assert by_label["Miscarriage in first trimester"] == "disease"


@pytest.mark.shared_data
def test_543_covid_19_has_the_symptoms_suspected_covid_19_had(
    kg_543: kgmed.KnowledgeGraph,
) -> None:
    """Every confirmed COVID-19 was first a suspected one; the suspicion is
    context, and the disease gets the symptoms and the contraceptives stay
    off a normal pregnancy."""
    nodes = kg_543.nodes().set_index("label")
    assert nodes.loc["Suspected COVID-19", "kind"] == "finding"
    assert nodes.loc["Normal pregnancy", "kind"] == "finding"
    assert nodes.loc["COVID-19", "kind"] == "disease"
    symptoms = set(kg_543.symptoms_of("COVID-19")["label"])
    assert {"Fever", "Cough", "Loss of taste"} <= symptoms
    edges = kg_543.edges()
    for label in ("Suspected COVID-19", "Normal pregnancy"):
        from_it = edges[edges["source_label"] == label]
        assert not from_it["relation"].isin(["has_symptom", "treated_with"]).any(), label


@pytest.mark.shared_data
def test_the_kind_a_reader_gives_is_the_users_to_change(shared_data: Path) -> None:
    records = read_synthea(shared_data / SETS["543"], tables=["conditions"])
    suspected = (records.data["code"] == "840544004").to_numpy()
    assert set(records.data.loc[suspected, "kind"]) == {"finding"}
    records.data.loc[suspected, "kind"] = "disease"
    kg = kgmed.build(records)
    assert kg.nodes().set_index("id").loc["SNOMEDCT:840544004", "kind"] == "disease"
    assert len(kg.symptoms_of("Suspected COVID-19")) > 0


@pytest.mark.shared_data
@pytest.mark.parametrize(("key", "n_patients"), [("543", 528), ("111", 111), ("59", 59)])
def test_real_patients_are_aged_at_their_last_observation(
    shared_data: Path, real: dict[str, kgmed.Records], key: str, n_patients: int
) -> None:
    """Age and sex from patients.csv, worked out a patient at a time with datetime."""
    records = real[key]
    patients = records.patients
    assert patients is not None
    assert len(patients) == records.n_patients == n_patients
    raw = _raw(shared_data, key, "patients").set_index("Id")
    last = records.data.groupby("patient_id")["time"].max()
    for patient, row in patients.iterrows():
        born = date.fromisoformat(raw.loc[patient, "BIRTHDATE"])
        seen = last[patient].date()
        died = raw.loc[patient, "DEATHDATE"]
        if isinstance(died, str):
            seen = min(seen, date.fromisoformat(died))
        age = seen.year - born.year - ((seen.month, seen.day) < (born.month, born.day))
        assert row["age"] == age, patient
        assert row["sex"] == {"F": "female", "M": "male"}[raw.loc[patient, "GENDER"]]
    note = f"patients.csv: age and sex known for {n_patients} of {n_patients} patients"
    assert note in records.report.notes


@pytest.mark.shared_data
@pytest.mark.parametrize("key", list(SETS))
def test_real_medications_keep_every_product_and_reason(shared_data: Path, key: str) -> None:
    raw = _raw(shared_data, key, "medications")
    records = read_synthea(shared_data / SETS[key], ingredients=False, tables=["medications"])
    keys = ["PATIENT", "CODE", "ENCOUNTER", "START"]
    unique = raw.drop_duplicates(keys)
    assert records.report.n_kept == len(unique)
    data = records.data
    assert data["reason_id"].notna().sum() == unique["REASONCODE"].notna().sum()
    assert set(data["concept_id"]) == set("RXNORM:" + raw["CODE"])
    assert set(data["reason_id"].dropna()) == set("SNOMEDCT:" + raw["REASONCODE"].dropna())


@pytest.mark.shared_data
def test_real_observations_are_judged_against_adult_ranges(
    shared_data: Path, real: dict[str, kgmed.Records]
) -> None:
    raw = _raw(shared_data, "59", "observations")
    births = _raw(shared_data, "59", "patients").set_index("Id")["BIRTHDATE"]
    records = real["59"]
    measured = records.measurements
    assert measured is not None
    numeric = raw[raw["TYPE"] == "numeric"]
    # Questionnaire scores (the survey category) are social, as FHIR's are.
    numeric = numeric[numeric["CATEGORY"] != "survey"]
    assert len(measured) == len(numeric) == 12388
    assert sum(records.report.measurements.values()) == len(numeric)
    assert set(measured["concept_id"]) == set(
        np.where(
            numeric["CODE"].str.contains("-"),
            "LOINC:" + numeric["CODE"],
            "local:" + numeric["CODE"].str.lower(),
        )
    )
    # Systolic blood pressure of 140 mm[Hg] or more in an adult, counted here.
    when = pd.to_datetime(numeric["DATE"], utc=True)
    born = pd.to_datetime(numeric["PATIENT"].map(births), utc=True)
    adult = (when - born).dt.days / 365.2425 >= 18
    high = (numeric["CODE"] == "8480-6") & (numeric["VALUE"].astype(float) >= 140) & adult
    assert high.sum() > 0
    flagged = measured[
        (measured["concept_id"] == "LOINC:8480-6") & (measured["status"] == "flagged")
    ]
    assert len(flagged) == high.sum()
    findings = records.data[records.data["label"] == "systolic blood pressure high"]
    assert len(findings) == high.sum()
    assert (findings["value"] >= 140).all()
    assert set(findings["unit"]) == {"mm[Hg]"}


@pytest.mark.shared_data
def test_real_encounter_baskets(shared_data: Path) -> None:
    records = read_synthea(shared_data / SETS["111"], basket="encounter")
    assert records.basket == "encounter"
    assert records.data["encounter_id"].notna().all()
    kg = kgmed.build(records)
    assert kg.params["basket"] == "encounter"


# -- the 543-patient graph: the drugs Synthea prescribes, attached where they belong ------

#: What Synthea's modules prescribe for five conditions (SNOMED CT code), as
#: ingredients, to at least 11 patients of the 543 (the privacy floor).
PRESCRIBED = {
    "59621000": {"lisinopril", "hydrochlorothiazide", "amlodipine"},  # hypertension
    "55822004": {"simvastatin"},  # hyperlipidemia
    "10509002": {"acetaminophen", "dextromethorphan", "doxylamine"},  # acute bronchitis
    "444814009": {"amoxicillin", "clavulanate"},  # viral sinusitis
    "43878008": {"penicillin v"},  # streptococcal sore throat
}
DRUGS = sorted(set().union(*PRESCRIBED.values()))


def _with(products: pd.Series, name: str) -> pd.Series:
    return products.str.contains(name, case=False, regex=False)


@pytest.fixture(scope="module")
def raw_543(shared_data: Path) -> dict[str, pd.DataFrame]:
    return {t: _raw(shared_data, "543", t) for t in ("conditions", "medications")}


@pytest.fixture(scope="module")
def kg_543(real: dict[str, kgmed.Records]) -> kgmed.KnowledgeGraph:
    return kgmed.build(real["543"])


@pytest.mark.shared_data
def test_the_prescribed_drugs_are_what_the_raw_data_records(
    raw_543: dict[str, pd.DataFrame],
) -> None:
    meds = raw_543["medications"]
    for reason, names in PRESCRIBED.items():
        given = meds[meds["REASONCODE"] == reason]
        for name in names:
            assert given.loc[_with(given["DESCRIPTION"], name), "PATIENT"].nunique() >= 11
        # Every product given for the reason to 11 or more patients is one of them.
        per_product = given.groupby("DESCRIPTION")["PATIENT"].nunique()
        for product in per_product[per_product >= 11].index:
            assert any(name in product.lower() for name in names), product


def _recorded(kg: kgmed.KnowledgeGraph) -> pd.DataFrame:
    edges = kg.edges("treated_with")
    return edges[edges["provenance"].str.contains("recorded")]


@pytest.mark.shared_data
def test_543_graph_shows_the_prescribed_drugs_as_recorded_treatments(
    kg_543: kgmed.KnowledgeGraph, raw_543: dict[str, pd.DataFrame]
) -> None:
    meds = raw_543["medications"]
    recorded = _recorded(kg_543)
    for reason, names in PRESCRIBED.items():
        edges = recorded[recorded["source"] == f"SNOMEDCT:{reason}"].set_index("target")
        expected = {"local:" + name.replace(" ", "_") for name in names}
        assert set(edges.index) == expected, reason
        for name in names:
            given = meds[(meds["REASONCODE"] == reason) & _with(meds["DESCRIPTION"], name)]
            assert (
                edges.loc["local:" + name.replace(" ", "_"), "n_recorded"]
                == given["PATIENT"].nunique()
            )
        label = kg_543.graph.nodes[f"SNOMEDCT:{reason}"]["label"]
        shown = kg_543.treatments_for(label)
        assert set(names) <= set(shown.loc[shown["source"].str.contains("recorded"), "label"])


@pytest.mark.shared_data
def test_543_recorded_edges_attach_no_drug_to_an_unrelated_disease(
    kg_543: kgmed.KnowledgeGraph, raw_543: dict[str, pd.DataFrame]
) -> None:
    meds = raw_543["medications"]
    recorded = _recorded(kg_543)
    for name in DRUGS:
        reasons = set(
            "SNOMEDCT:" + meds.loc[_with(meds["DESCRIPTION"], name), "REASONCODE"].dropna()
        )
        sources = set(
            recorded.loc[recorded["target"] == "local:" + name.replace(" ", "_"), "source"]
        )
        assert sources, name
        assert sources <= reasons, name


@pytest.mark.shared_data
def test_543_mined_evidence_points_each_drug_to_its_indication_first(
    kg_543: kgmed.KnowledgeGraph, raw_543: dict[str, pd.DataFrame]
) -> None:
    """A drug's most significant mined edge goes to a disease it was given for.

    "Given for" is read from the raw data alone: the condition named as the
    prescription's reason, or, for prescriptions without one (amoxicillin
    for otitis media), a condition diagnosed at the same encounter. Weaker
    mined edges to comorbidities (lisinopril and prediabetes, in older
    patients) are associations, not indications, and are not tested.
    """
    meds, conditions = raw_543["medications"], raw_543["conditions"]
    edges = kg_543.edges("treated_with")
    for name in DRUGS:
        given = meds[_with(meds["DESCRIPTION"], name)]
        indications = set("SNOMEDCT:" + given["REASONCODE"].dropna())
        unexplained = given.loc[given["REASONCODE"].isna(), ["ENCOUNTER"]]
        same_visit = unexplained.merge(conditions, on="ENCOUNTER")["CODE"]
        indications |= set("SNOMEDCT:" + same_visit)
        mine = edges[edges["target"] == "local:" + name.replace(" ", "_")]
        best = mine.sort_values(["q_value", "lift"], ascending=[True, False]).iloc[0]
        assert best["source"] in indications, (name, best["source_label"])
        assert best["q_value"] < 1e-10, name
        assert best["lift"] > 1, name


@pytest.mark.shared_data
def test_543_direct_graph_attaches_no_drug_to_an_unrelated_disease(
    kg_543: kgmed.KnowledgeGraph,
    raw_543: dict[str, pd.DataFrame],
    real: dict[str, kgmed.Records],
) -> None:
    """In the default graph (direct relations) every treated_with edge of these
    drugs, mined or recorded, runs from a disease the raw data gives it for.

    "Given for": the prescription's reason code, or a condition diagnosed at
    the same encounter (amlodipine at a coronary heart disease visit,
    acetaminophen for a wrist sprain). The comorbidity links that counting
    alone finds (lisinopril and prediabetes) are not direct relations.
    """
    assert kg_543.params["relations"] == "direct"
    meds, conditions = raw_543["medications"], raw_543["conditions"]
    edges = kg_543.edges("treated_with")
    for name in DRUGS:
        given = meds[_with(meds["DESCRIPTION"], name)]
        indications = set("SNOMEDCT:" + given["REASONCODE"].dropna())
        same_visit = given[["ENCOUNTER"]].merge(conditions, on="ENCOUNTER")["CODE"]
        indications |= set("SNOMEDCT:" + same_visit)
        sources = set(edges.loc[edges["target"] == "local:" + name.replace(" ", "_"), "source"])
        assert sources, name
        assert sources <= indications, (name, sources - indications)
    association = kgmed.build(real["543"], relations="association")
    lisinopril = association.edges("treated_with")
    lisinopril = lisinopril[lisinopril["target"] == "local:lisinopril"]
    assert len(lisinopril) > len(edges[edges["target"] == "local:lisinopril"])


@pytest.mark.shared_data
def test_543_grouping_ingredients_changes_only_the_treatments(shared_data: Path) -> None:
    # Same concepts whichever way ingredients are grouped: conditions do not change.
    grouped = read_synthea(shared_data / SETS["543"])
    products = read_synthea(shared_data / SETS["543"], ingredients=False)
    conditions = grouped.data[grouped.data["kind"] != "treatment"]
    also = products.data[products.data["kind"] != "treatment"]
    pd.testing.assert_frame_equal(
        conditions.reset_index(drop=True)[["patient_id", "concept_id", "time"]],
        also.reset_index(drop=True)[["patient_id", "concept_id", "time"]],
        check_categorical=False,
    )
    assert np.array_equal(
        np.sort(products.data["product"].dropna().unique()),
        np.sort(grouped.data["product"].dropna().unique()),
    )


def test_asking_only_for_tables_the_export_lacks_is_empty(small: Path) -> None:
    with pytest.raises(EmptyRecordsError, match="holds none of the tables asked for"):
        _read(small, tables=["observations", "procedures"])
