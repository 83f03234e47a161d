"""read_records(chunksize=...): a file read a chunk at a time gives what the whole file gives."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    UnknownKindError,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "data" / "records.csv"
HEADER = "patient_id,concept,kind\n"

Writer = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Write text to a file in a fresh folder and return its path."""

    def write(text: str, name: str = "visits.csv") -> Path:
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as f:
            f.write(text)
        return path

    return write


def _n_rows(path: Path) -> int:
    """Data rows, as pandas counts them (a blank line is a row)."""
    sep = "\t" if path.suffix == ".tsv" else ","
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        return max(sum(1 for _ in csv.reader(f, delimiter=sep)) - 1, 1)


def _chunksizes(path: Path, sizes: tuple[int, ...] = (1, 2, 7)) -> list[int]:
    """The chunk sizes a test reads a file with: small ones, its length, and more."""
    n = _n_rows(path)
    return sorted({*sizes, n, n + 1})


def same_records(path: Path, sizes: tuple[int, ...] = (1, 2, 7), **options: Any) -> kgmed.Records:
    """Read ``path`` whole and in chunks of each size; every reading must agree."""
    whole = kgmed.read_records(path, **options)
    for size in _chunksizes(path, sizes):
        chunked = kgmed.read_records(path, chunksize=size, **options)
        pd.testing.assert_frame_equal(chunked.data, whole.data)
        assert chunked.report == whole.report, size
        assert str(chunked.report) == str(whole.report), size
        assert chunked.basket == whole.basket
    return whole


def same_error(
    path: Path, error: type[Exception], sizes: tuple[int, ...] = (1, 2, 7), **options: Any
) -> str:
    """Read ``path`` whole and in chunks; each must raise ``error`` with one message."""
    with pytest.raises(error) as whole:
        kgmed.read_records(path, **options)
    message = str(whole.value)
    for size in _chunksizes(path, sizes):
        with pytest.raises(error) as chunked:
            kgmed.read_records(path, chunksize=size, **options)
        assert str(chunked.value) == message, size
        assert type(chunked.value) is type(whole.value)
    return message


# -- the same records -------------------------------------------------------------------


def test_sample_in_chunks() -> None:
    records = same_records(SAMPLE, sizes=(997, 5000), code="code", system="system")
    assert records.report.dropped == {"duplicate": 795}
    assert records.report.n_label_variants > 0


def test_sample_head_in_small_chunks(write: Writer) -> None:
    head = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)[:150]
    path = write("".join(head))
    same_records(path, code="code", system="system")
    same_records(path, synonyms={"asthma": "hypertension", "common cold": "Cold"})


@pytest.mark.parametrize("seed", [0, 1])
def test_generated_messy_records(write: Writer, seed: int) -> None:
    frame = kgmed.datasets.synthetic(40, random_state=seed, messy=True, as_frame=True)
    # Half the codes are left out: those labels adopt the code of their coded rows.
    frame["code"] = frame["code"].where(np.arange(len(frame)) % 2 == 0)
    frame["visit"] = frame["patient_id"] + "-" + (np.arange(len(frame)) % 3).astype(str)
    path = write(frame.to_csv(index=False))
    records = same_records(
        path,
        code="code",
        system="system",
        synonyms={"fever": "pyrexia", "dry cough": "cough"},
    )
    assert records.report.dropped["duplicate"] > 0
    assert records.report.n_label_variants > 0
    assert "pyrexia" in set(records.data["label"])
    by_visit = same_records(path, code="code", system="system", encounter="visit")
    assert by_visit.report.n_kept > records.report.n_kept


def test_generated_records_in_large_chunks(write: Writer) -> None:
    model = kgmed.datasets.random_model(20, 150, 50, random_state=1)
    frame = kgmed.datasets.synthetic(3000, random_state=0, model=model, messy=True, as_frame=True)
    path = write(frame.to_csv(index=False))
    records = same_records(path, sizes=(1000, 4096), code="code", system="system")
    assert records.n_patients == 3000


def test_label_variants_across_chunks_take_the_file_s_most_frequent(write: Writer) -> None:
    # The first chunk (2 rows) only sees "FEVER"; the file writes "fever" most.
    path = write(
        HEADER
        + "p1,FEVER,symptom\np2,FEVER,symptom\n"
        + "p3,fever,symptom\np4,fever ,symptom\np5,Fever,symptom\np6,fever,symptom\n"
        + "p1,Cough,symptom\np2,cough,symptom\n"
    )
    records = same_records(path)
    labels = records.data.drop_duplicates("concept_id").set_index("concept_id")["label"]
    assert labels.to_dict() == {"local:fever": "fever", "local:cough": "Cough"}
    assert records.report.n_label_variants == 3


def test_a_label_coded_only_in_a_late_chunk_is_one_concept(write: Writer) -> None:
    path = write(
        "pid,dx,kind,icd,sys\n"
        + "p1,Influenza,disease,,\n" * 3
        + "p2,influenza ,disease,,\np3,Asthma,disease,,\n"
        + "p4,INFLUENZA,disease,J11.1,ICD10CM\n"
    )
    records = same_records(path, patient="pid", concept="dx", kind="kind", code="icd", system="sys")
    flu = records.data[records.data["patient_id"] != "p3"]
    assert set(flu["concept_id"]) == {"ICD10CM:J11.1"}
    assert flu["code"].tolist() == ["J11.1"] * 3
    assert records.data["concept_id"].tolist()[-2] == "local:asthma"


def test_a_label_with_two_codes_in_different_chunks_stays_local(write: Writer) -> None:
    path = write(
        "pid,dx,kind,icd,sys\n"
        "p1,cold,disease,J00,ICD10CM\np2,cold,disease,,\np3,x,disease,,\n"
        "p4,Cold,disease,J01,ICD10CM\n"
    )
    records = same_records(path, patient="pid", concept="dx", kind="kind", code="icd", system="sys")
    assert records.data["concept_id"].tolist() == [
        "ICD10CM:J00",
        "local:cold",
        "local:x",
        "ICD10CM:J01",
    ]


def test_duplicates_across_chunk_borders_keep_the_first(write: Writer) -> None:
    path = write(
        HEADER[:-1]
        + ",visit,date\n"
        + "p1,fever,symptom,e1,2021-03-04\n"
        + "p1,cough,symptom,e1,2021-03-04\n"
        + "p2,fever,symptom,e2,2021-03-05\n"
        + "p1,Fever ,symptom,e1,2021-03-04T00:00:00\n"
        + "p1,fever,symptom,e2,2021-03-04\n"
        + "p2,FEVER,symptom,e2,2021-03-05\n"
        + "p1,fever,symptom,,\n"
        + "p1,fever,symptom,,\n"
    )
    records = same_records(path, encounter="visit", time="date")
    assert records.report.dropped == {"duplicate": 3}
    assert records.data[["patient_id", "encounter_id"]].astype("string").fillna(
        "-"
    ).values.tolist() == [
        ["p1", "e1"],
        ["p1", "e1"],
        ["p2", "e2"],
        ["p1", "e2"],
        ["p1", "-"],
    ]


def test_blank_lines_and_quoted_newlines(write: Writer) -> None:
    path = write(
        HEADER
        + "p1,fever,symptom\n\n,,\n"
        + 'p2,"dry\ncough",symptom\n'
        + '  ,\t, \np3,"a\n\nb",symptom\n\n'
        + "p3,,symptom\np4,cough,symptom\n\n"
    )
    records = same_records(path)
    assert records.report.n_read == 10
    assert records.report.dropped == {"blank row": 5, "empty concept": 1}
    assert records.data["label"].tolist() == ["fever", "dry cough", "a b", "cough"]


def test_encounters_times_reasons_and_kept_columns(write: Writer) -> None:
    path = write(
        "pid,drug,visit,start,why,dose,unit\n"
        "p1,metformin,e1,2021-03-04,SNOMEDCT:44054006,500,mg\n"
        "p1,Metformin,e2,2021-04-04T10:30:00Z,SNOMEDCT:44054006,,mg\n"
        "p2,insulin,e3,2021-05-01 08:00,,10,\n"
        "p2,insulin,e3,2021-05-01 08:00,,12,units\n"
        "p3,aspirin,e4,,SNOMEDCT:22298006,75,mg\n"
    )
    records = same_records(
        path,
        patient="pid",
        concept="drug",
        kind="treatment",
        encounter="visit",
        time="start",
        reason="why",
        keep=["dose", "unit"],
        basket="encounter",
    )
    assert records.basket == "encounter"
    assert records.data["dose"].tolist() == ["500", np.nan, "10", "75"]
    assert records.data["reason_id"].tolist()[0] == "SNOMEDCT:44054006"
    assert str(records.data["time"].dtype) == "datetime64[us, UTC]"


def test_time_resolution_is_the_finest_of_any_chunk(write: Writer) -> None:
    path = write(
        HEADER[:-1]
        + ",date\n"
        + "p1,fever,symptom,2021-03-04\np1,cough,symptom,\n"
        + "p2,fever,symptom,2021-03-04T10:30:00.123456789\np3,cough,symptom,2021-03-05\n"
    )
    records = same_records(path, time="date")
    assert str(records.data["time"].dtype) == "datetime64[ns, UTC]"
    assert records.data["time"].iloc[2] == pd.Timestamp("2021-03-04T10:30:00.123456789Z")


def test_tab_separated_file(write: Writer) -> None:
    path = write(
        "patient_id\tconcept\tkind\np1\tfever, high\tsymptom\np2\tcough\tsymptom\n", "v.tsv"
    )
    assert same_records(path).data["label"].tolist() == ["fever, high", "cough"]


# -- the same errors, naming the same lines -------------------------------------------


def test_missing_patient_in_a_late_chunk_names_its_line(write: Writer) -> None:
    path = write(
        HEADER
        + 'p1,"fever\nhigh",symptom\n\np2,"a\n\nb",symptom\n'
        + "p3,x,symptom\n" * 4
        + ",cough,symptom\np4,y,symptom\n,z,symptom\n"
    )
    message = same_error(path, MissingValueError)
    assert message == (
        "visits.csv: column 'patient_id' is empty in 2 row(s) (line 12, line 14); every "
        "observation needs a patient id. Fill or drop those rows."
    )


def test_many_missing_patients_are_counted_over_the_file(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\n" + ",a,symptom\np2,b,symptom\n" * 8)
    message = same_error(path, MissingValueError)
    assert "in 8 row(s) (line 3, line 5, line 7, line 9, line 11 and 3 more)" in message


def test_unknown_kind_in_a_late_chunk(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\n" * 5 + "p1,BRCA1,gene\np2,TP53, gene \np3,x,dx\n")
    message = same_error(path, UnknownKindError)
    assert re.search(r"unknown kind 'gene'.*\(at line 7, line 8\)$", message)


def test_the_first_error_of_the_file_wins_over_an_earlier_chunk_s(write: Writer) -> None:
    # Reading whole, a missing patient (line 6) is found before a bad kind (line 2).
    path = write(HEADER + "p1,BRCA1,gene\n" + "p1,fever,symptom\n" * 3 + ",cough,symptom\n")
    message = same_error(path, MissingValueError)
    assert "(line 6)" in message


def test_missing_kind_in_a_late_chunk(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\n" * 4 + "p1,a,\np2,b, \n")
    message = same_error(path, MissingValueError)
    assert "column 'kind' (kind) is empty in 2 row(s) (line 6, line 7)" in message


def test_bad_time_in_a_late_chunk(write: Writer) -> None:
    path = write(
        HEADER[:-1]
        + ",date\n"
        + "p1,fever,symptom,2021-03-04\np1,x,symptom,NaN\n"
        + "p1,cough,symptom,2021-03-05\np2,y,symptom,yesterday\np3,z,symptom,  \n"
    )
    message = same_error(path, RecordsError, time="date")
    assert message.startswith(
        "visits.csv: column 'date' holds values that are not dates such as 'NaN' at "
        "line 3, line 5 (Unknown datetime string format, unable to parse: yesterday)"
    )


def test_dates_out_of_range_for_another_chunk_s_resolution(write: Writer) -> None:
    # Nanoseconds (line 3) cannot hold year 9999 (line 2), read in an earlier chunk.
    path = write(
        HEADER[:-1]
        + ",date\n"
        + "p1,fever,symptom,9999-12-31\n"
        + "p2,y,symptom,2021-03-04T10:00:00.123456789\n"
        + "p3,z,symptom,2021-03-04\n"
    )
    message = same_error(path, RecordsError, time="date")
    assert "such as '9999-12-31' at line 2 (Out of bounds nanosecond timestamp" in message


def test_unknown_system_in_a_late_chunk(write: Writer) -> None:
    path = write(
        HEADER[:-1]
        + ",code,sys\n"
        + "p1,fever,symptom,386661006,SNOMEDCT\n" * 3
        + "p1,a,symptom,2,bad sys!\n"
    )
    message = same_error(path, RecordsError, code="code", system="sys")
    assert "coding system 'bad sys!' is not known" in message
    assert message.endswith("(at line 5)")


def test_a_concept_with_two_kinds_in_two_chunks(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\np2,cough,symptom\np3,x,disease\np4,FEVER,finding\n")
    message = same_error(path, RecordsError)
    assert "concept 'local:fever' appears with kinds ['finding', 'symptom']" in message


def test_bad_reason_in_a_late_chunk(write: Writer) -> None:
    path = write(HEADER[:-1] + ",why\n" + "p1,fever,symptom,SNOMEDCT:1\n" * 3 + "p2,a,symptom,42\n")
    message = same_error(path, RecordsError, reason="why")
    assert "column 'why' holds '42' at line 5" in message


def test_encounter_basket_without_an_encounter_in_a_late_chunk(write: Writer) -> None:
    path = write(HEADER[:-1] + ",visit\n" + "p1,fever,symptom,e1\n" * 3 + "p1,cough,symptom,\n")
    same_error(path, MissingValueError, encounter="visit", basket="encounter")


def test_no_concept_in_any_chunk(write: Writer) -> None:
    path = write(HEADER + "p1,,symptom\n\np2,,symptom\n")
    same_error(path, EmptyRecordsError)


@pytest.mark.parametrize("text", [HEADER, HEADER + "\n,,\n"])
def test_no_rows(write: Writer, text: str) -> None:
    same_error(write(text), EmptyRecordsError)


def test_a_malformed_line_late_in_the_file_wins_over_a_missing_column(write: Writer) -> None:
    # Reading whole, pandas meets line 10 before the columns are checked.
    path = write("a,b\n" + "1,2\n" * 8 + "3,4,5\n")
    message = same_error(path, RecordsFileError)
    assert message.startswith("visits.csv: line 10 has 3 fields but the header has 2")
    # Without the bad line, the missing column is the error.
    same_error(write("a,b\n" + "1,2\n" * 8, "good.csv"), ColumnNotFound)


def test_bytes_that_are_not_the_encoding_late_in_the_file(write: Writer, tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + "p1,fever,symptom\n" * 5 + "p2,fièvre,symptom\n").encode("latin-1"))
    message = same_error(path, RecordsFileError, encoding="utf-8")
    assert message.startswith("latin.csv: line 7 is not utf-8 text")


def test_encoding_found_out_late_in_a_big_file(tmp_path: Path) -> None:
    # Past the first bytes the reader looks at, a Latin-1 letter: every chunk
    # is read as Windows-1252, as the whole file is.
    path = tmp_path / "late.csv"
    rows = "".join(f"p{i},fever,symptom\n" for i in range(20_000))
    path.write_bytes((HEADER + rows + "p2,fièvre,symptom\n").encode("latin-1"))
    assert path.stat().st_size > 2**16
    records = same_records(path, sizes=(7_000,))
    assert "fièvre" in set(records.data["label"])
    assert records.report.notes[0].startswith("late.csv: read as Windows-1252 text")


# -- parameters and the progress bar ------------------------------------------------------


@pytest.mark.parametrize("chunksize", [0, -5, 1.5, True, "100"])
def test_chunksize_must_be_a_positive_integer(write: Writer, chunksize: Any) -> None:
    path = write(HEADER + "p1,fever,symptom\n")
    with pytest.raises(ParameterError, match=r"^chunksize must be an integer >= 1"):
        kgmed.read_records(path, chunksize=chunksize)


def test_chunksize_is_refused_for_a_wide_file(write: Writer) -> None:
    path = write("Disease,Symptom_1\nflu,fever\n")
    with pytest.raises(ParameterError, match=r"^chunksize= reads a long file.*wide file"):
        kgmed.read_records(path, kinds={"disease": "Disease", "symptom": "Symptom_*"}, chunksize=10)


def test_progress_bar_only_when_asked(write: Writer, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(HEADER + "p1,fever,symptom\np2,cough,symptom\np3,x,symptom\n")
    quiet = kgmed.read_records(path, chunksize=1)
    assert capsys.readouterr().err == ""
    shown = kgmed.read_records(path, chunksize=1, progress=True)
    err = capsys.readouterr().err
    assert "reading visits.csv" in err
    assert "chunk" in err
    pd.testing.assert_frame_equal(quiet.data, shown.data)
    kgmed.read_records(path, progress=True)
    assert "reading visits.csv" in capsys.readouterr().err
    kgmed.read_records(path, chunksize=1, progress=False)
    assert capsys.readouterr().err == ""
    with pytest.raises(ParameterError, match="progress must be True, False or None"):
        kgmed.read_records(path, progress="yes")  # type: ignore[arg-type]


# -- third-party files ------------------------------------------------------------------------

SYNTHEA = ["synthea_csv_111_unmc", "synthea_csv_543_partial", "synthea_csv_59_ca/csv"]


@pytest.mark.shared_data
@pytest.mark.parametrize("folder", SYNTHEA)
def test_real_synthea_conditions(shared_data: Path, folder: str) -> None:
    path = shared_data / folder / "conditions.csv"
    records = same_records(
        path,
        sizes=(997,),
        patient="PATIENT",
        concept="DESCRIPTION",
        kind="disease",
        code="CODE",
        system="SNOMEDCT",
        encounter="ENCOUNTER",
        time="START",
        keep=["STOP"],
    )
    # Two descriptions of one code: one label, the most frequent, for each concept.
    assert records.report.n_label_variants > 0
    same_records(
        path,
        sizes=(997,),
        patient="PATIENT",
        concept="DESCRIPTION",
        kind="disease",
        encounter="ENCOUNTER",
        time="STOP",
        basket="encounter",
    )


@pytest.mark.shared_data
def test_real_synthea_conditions_in_small_chunks(shared_data: Path) -> None:
    same_records(
        shared_data / "synthea_csv_59_ca" / "csv" / "conditions.csv",
        sizes=(7,),
        patient="PATIENT",
        concept="DESCRIPTION",
        kind="disease",
        code="CODE",
        system="SNOMEDCT",
        time="START",
    )


@pytest.mark.shared_data
@pytest.mark.parametrize("folder", SYNTHEA)
def test_real_synthea_medications(shared_data: Path, folder: str) -> None:
    path = shared_data / folder / "medications.csv"
    options = {
        "patient": "PATIENT",
        "concept": "DESCRIPTION",
        "kind": "treatment",
        "code": "CODE",
        "system": "RXNORM",
        "encounter": "ENCOUNTER",
        "time": "START",
        "keep": ["TOTALCOST", "REASONDESCRIPTION"],
    }
    same_records(path, sizes=(997,), **options)
    # Synthea's reasons are bare SNOMED codes, not concept ids: the same
    # error, naming the same lines, all over the file.
    message = same_error(path, RecordsError, sizes=(997,), reason="REASONCODE", **options)
    assert re.search(r"column 'REASONCODE' holds '\d+' at line \d+, .* and \d+ more", message)


@pytest.mark.shared_data
def test_real_synthea_observations_with_values(shared_data: Path) -> None:
    path = shared_data / "synthea_csv_59_ca" / "csv" / "observations.csv"
    records = same_records(
        path,
        sizes=(4999,),
        patient="PATIENT",
        concept="DESCRIPTION",
        kind="finding",
        code="CODE",
        system="LOINC",
        encounter="ENCOUNTER",
        time="DATE",
        keep=["VALUE", "UNITS"],
    )
    assert records.report.n_read == 21697
    # CATEGORY is empty in some rows: the same error, counted over every chunk.
    message = same_error(
        path,
        MissingValueError,
        sizes=(4999,),
        patient="PATIENT",
        concept="DESCRIPTION",
        kind="CATEGORY",
    )
    assert "is empty in 1512 row(s) (line 53, line 54" in message


@pytest.mark.shared_data
def test_real_columbia_and_hetionet(shared_data: Path) -> None:
    columbia = shared_data / "columbia_disease_symptom_kb" / "disease_symptom_long.csv"
    records = same_records(
        columbia, sizes=(7, 100), patient="disease", concept="symptom", kind="symptom"
    )
    assert records.n_patients == 134
    hetionet = shared_data / "hetionet_v1.0_subset" / "edges_DpS_Disease_presents_Symptom.tsv"
    same_records(hetionet, sizes=(500,), patient="source", concept="target", kind="symptom")
