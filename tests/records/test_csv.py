"""read_records: files that are good, odd, or not CSV at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import kgmed
from kgmed import (
    ColumnNotFound,
    EmptyRecordsError,
    MissingValueError,
    RecordsError,
    RecordsFileError,
    RecordsFileNotFound,
)

HEADER = "patient_id,concept,kind\n"

Writer = Callable[..., Path]


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """Write text (or bytes) to a file in a fresh folder and return its path."""

    def write(text: str | bytes, name: str = "visits.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            with path.open("w", encoding=encoding, newline="") as f:
                f.write(text)
        return path

    return write


def test_reads_a_long_file(write: Writer) -> None:
    path = write(HEADER + "p1,Influenza,disease\np1,fever,symptom\np2,Fever ,symptom\n")
    records = kgmed.read_records(path)
    assert records.data[["patient_id", "concept_id", "kind"]].values.tolist() == [
        ["p1", "local:influenza", "disease"],
        ["p1", "local:fever", "symptom"],
        ["p2", "local:fever", "symptom"],
    ]
    assert records.report.source == "visits.csv"


def test_accepts_str_paths(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\n")
    assert len(kgmed.read_records(str(path))) == 1


def test_reads_coded_long_file(write: Writer) -> None:
    path = write(
        "pid,dx,type,code,system,visit,date\n"
        "001,Type 2 diabetes,Diagnosis,44054006,http://snomed.info/sct,e1,2021-03-04\n"
        "001,metformin,medication,860975,RxNorm,e1,2021-03-04\n"
    )
    records = kgmed.read_records(
        path,
        patient="pid",
        concept="dx",
        kind="type",
        code="code",
        system="system",
        encounter="visit",
        time="date",
    )
    data = records.data
    assert data["concept_id"].tolist() == ["SNOMEDCT:44054006", "RXNORM:860975"]
    assert data["kind"].tolist() == ["disease", "treatment"]
    assert data["patient_id"].tolist() == ["001", "001"]
    assert data["encounter_id"].tolist() == ["e1", "e1"]
    assert data["time"].tolist() == [pd.Timestamp("2021-03-04", tz="UTC")] * 2


def test_patient_ids_keep_leading_zeros(write: Writer) -> None:
    path = write(HEADER + "001,fever,symptom\n01,fever,symptom\n1,fever,symptom\n")
    records = kgmed.read_records(path)
    assert records.data["patient_id"].tolist() == ["001", "01", "1"]
    assert records.n_patients == 3


def test_codes_keep_their_text(write: Writer) -> None:
    path = write(HEADER[:-1] + ",code\np1,Hypertension,disease,38341003\np2,x,disease,0012\n")
    data = kgmed.read_records(path, code="code", system="SNOMEDCT").data
    assert data["concept_id"].tolist() == ["SNOMEDCT:38341003", "SNOMEDCT:0012"]


def test_blank_rows_are_counted(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\n\n,,\n  ,\t, \np2,cough,symptom\n\n")
    records = kgmed.read_records(path)
    assert records.data["concept_id"].tolist() == ["local:fever", "local:cough"]
    assert records.report.dropped == {"blank row": 4}
    assert records.report.n_read == 6


def test_empty_concept_rows_are_counted(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\np1,,symptom\np2,,\np2,cough,symptom\n")
    records = kgmed.read_records(path)
    assert records.report.dropped == {"empty concept": 2}
    assert records.report.n_read == records.report.n_kept + records.report.n_dropped == 4


def test_crlf_line_endings(write: Writer) -> None:
    path = write(HEADER.replace("\n", "\r\n") + "p1,fever,symptom\r\np2,cough,symptom\r\n")
    records = kgmed.read_records(path)
    assert records.data["concept_id"].tolist() == ["local:fever", "local:cough"]
    assert records.data["kind"].tolist() == ["symptom", "symptom"]


def test_kind_for_every_row(write: Writer) -> None:
    path = write("patient_id,concept\np1,fever\n")
    assert kgmed.read_records(path, kind="sign").data["kind"].tolist() == ["symptom"]


def test_wide_file(write: Writer) -> None:
    path = write("pid,Disease,Symptom_1,Symptom_2\n001,Flu, fever,\n002,Flu ,fever, cough\n")
    records = kgmed.read_records(
        path, patient="pid", kinds={"disease": "Disease", "symptom": "Symptom_*"}
    )
    assert records.data[["patient_id", "concept_id"]].values.tolist() == [
        ["001", "local:flu"],
        ["001", "local:fever"],
        ["002", "local:flu"],
        ["002", "local:fever"],
        ["002", "local:cough"],
    ]
    assert records.report.dropped == {"empty cell": 1}


def test_repeated_header_names_keep_the_file_s_names(write: Writer) -> None:
    path = write("dx,fever,cough,fever\nflu,1,0,0\nflu,0,0,1\ncold,0,1,0\n")
    records = kgmed.read_records(
        path, patient=None, kinds={"disease": "dx"}, indicators={"symptom": ["fever", "cough"]}
    )
    assert "local:fever.1" not in set(records.data["concept_id"])
    fever = records.data.loc[records.data["concept_id"] == "local:fever", "patient_id"]
    assert fever.tolist() == ["row:1", "row:2"]


def test_repeated_long_column_is_an_error(write: Writer) -> None:
    path = write("patient_id,concept,kind,concept\np1,fever,symptom,cough\n")
    with pytest.raises(RecordsError, match="column 'concept' appears 2 times"):
        kgmed.read_records(path)


# -- hostile contents ----------------------------------------------------------------


def test_hostile_fields_are_kept_as_data(write: Writer) -> None:
    path = write(
        HEADER
        + "p1,<script>alert(1)</script>,symptom\n"
        + 'p2,"pain, ""sharp"" and \'bad\'",symptom\n'
        + 'p3,"line one\nline two",symptom\n'
        + "p4,=1+2,symptom\n"
        + "p5,+cmd|' /C calc'!A0,symptom\n"
        + "p6,fever \U0001f912,symptom\n"
        + "p7,"
        + "y" * 5000
        + ",symptom\n"
    )
    records = kgmed.read_records(path)
    assert records.data["label"].tolist() == [
        "<script>alert(1)</script>",
        "pain, \"sharp\" and 'bad'",
        "line one line two",
        "=1+2",
        "+cmd|' /C calc'!A0",
        "fever \U0001f912",
        "y" * 5000,
    ]
    assert records.data["patient_id"].tolist() == [f"p{i}" for i in range(1, 8)]
    assert records.data["concept_id"].iloc[0] == "local:<script>alert(1)</script>"
    assert records.data["concept_id"].iloc[2] == "local:line_one_line_two"
    assert records.report.n_dropped == 0


def test_hostile_ids_are_stable_between_files(write: Writer) -> None:
    first = kgmed.read_records(write(HEADER + 'p1,"=HYPERLINK(""x"")",symptom\n', "a.csv"))
    second = kgmed.read_records(
        write(HEADER + 'q9,cough,symptom\nq8," =HYPERLINK(""x"") ",symptom\n', "b.csv")
    )
    assert first.data["concept_id"].iloc[0] == second.data["concept_id"].iloc[1]
    assert first.data["concept_id"].iloc[0] == 'local:=hyperlink("x")'


# -- errors: the file -----------------------------------------------------------------------


def test_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(RecordsFileNotFound, match=r"^nope.csv: no such file") as info:
        kgmed.read_records(path)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, RecordsError)
    assert str(path) in str(info.value)


def test_folder(tmp_path: Path) -> None:
    folder = tmp_path / "visits"
    folder.mkdir()
    with pytest.raises(RecordsFileError, match=r"^visits: is a folder, not a CSV file"):
        kgmed.read_records(folder)


@pytest.mark.parametrize("text", ["", "\n", "\n\n  \n"])
def test_empty_file(write: Writer, text: str) -> None:
    with pytest.raises(EmptyRecordsError, match=r"^visits.csv: the file"):
        kgmed.read_records(write(text))


def test_header_only(write: Writer) -> None:
    with pytest.raises(EmptyRecordsError, match=r"^visits.csv: the table has no rows"):
        kgmed.read_records(write(HEADER))


def test_wide_header_only(write: Writer) -> None:
    with pytest.raises(EmptyRecordsError, match=r"^wide.csv: the table has no rows"):
        kgmed.read_records(
            write("Disease,Symptom_1\n", "wide.csv"),
            kinds={"disease": "Disease", "symptom": "Symptom_*"},
        )


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x00" * 64, id="xlsx"),
        pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00", id="xls"),
        pytest.param(b"patient_id,concept\x00kind\n", id="nul in text"),
    ],
)
def test_binary_file(write: Writer, content: bytes) -> None:
    with pytest.raises(RecordsFileError, match=r"^visits.csv: looks like a binary file.*as CSV"):
        kgmed.read_records(write(content))


@pytest.mark.shared_data
def test_real_spreadsheet_is_refused(shared_data: Path) -> None:
    path = shared_data / "columbia_disease_symptom_kb" / "raw_data.xlsx"
    with pytest.raises(RecordsFileError, match=r"raw_data\.xlsx: looks like a binary file"):
        kgmed.read_records(path)


def test_latin1_file_is_found_out(write: Writer) -> None:
    path = write(HEADER + "p1,fièvre,symptom\np2,céphalée,symptom\n", encoding="latin-1")
    records = kgmed.read_records(path)
    assert records.data["label"].tolist() == ["fièvre", "céphalée"]
    assert "visits.csv: read as Windows-1252 text: it is not UTF-8" in records.report.notes[0]


def test_cp1252_file_is_found_out(write: Writer) -> None:
    # Windows-1252 has letters where Latin-1 has control codes: the curly quote, the euro.
    path = write(HEADER + "p1,“café” € fever,symptom\n", encoding="cp1252")
    assert kgmed.read_records(path).data["label"].tolist() == ["“café” € fever"]


def test_file_not_in_the_encoding_asked_for(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\np2,céphalée,symptom\n", encoding="latin-1")
    with pytest.raises(
        RecordsFileError, match=r"^visits.csv: line 3 is not utf-8 text.*pass encoding="
    ):
        kgmed.read_records(path, encoding="utf-8")


def test_latin1_file_with_its_encoding(write: Writer) -> None:
    path = write(HEADER + "p1,fièvre,symptom\np2,céphalée,symptom\n", encoding="latin-1")
    records = kgmed.read_records(path, encoding="latin-1")
    assert records.data["label"].tolist() == ["fièvre", "céphalée"]


def test_utf8_bom(write: Writer) -> None:
    path = write("\ufeff" + HEADER + "p1,fièvre,symptom\n")
    assert path.read_bytes().startswith(b"\xef\xbb\xbfpatient_id")
    records = kgmed.read_records(path)
    assert records.data[["patient_id", "label"]].values.tolist() == [["p1", "fièvre"]]


def test_utf16_file(write: Writer) -> None:
    path = write(HEADER + "p1,fièvre,symptom\n", encoding="utf-16")
    records = kgmed.read_records(path)
    assert records.data["label"].tolist() == ["fièvre"]
    assert records.report.notes == ["visits.csv: read as UTF-16 text (its byte-order mark)"]
    assert kgmed.read_records(path, encoding="utf-16").data["label"].tolist() == ["fièvre"]


@pytest.mark.parametrize("sep", [";", "|", "\t"])
def test_other_separator_is_found_out(write: Writer, sep: str) -> None:
    path = write(f"patient_id{sep}concept{sep}kind\np1{sep}fever, high{sep}symptom\n")
    records = kgmed.read_records(path)
    assert records.data["label"].tolist() == ["fever, high"]
    assert records.report.notes == [f"visits.csv: fields split by {sep!r} (found in the header)"]
    assert kgmed.read_records(path, sep=sep).report.notes == []


def test_one_column_file(write: Writer) -> None:
    path = write("patient_id concept kind\np1 fever symptom\n")
    with pytest.raises(
        RecordsFileError, match=r"^visits.csv: found one column.*no ',' separator.*sep="
    ):
        kgmed.read_records(path)


@pytest.mark.parametrize("suffix", [".tsv", ".TSV", ".tab"])
def test_tab_separated_by_extension(write: Writer, suffix: str) -> None:
    path = write("patient_id\tconcept\tkind\np1\tfever, high\tsymptom\n", f"visits{suffix}")
    assert kgmed.read_records(path).data["label"].tolist() == ["fever, high"]


def test_tab_separated_with_other_extension(write: Writer) -> None:
    path = write("patient_id\tconcept\tkind\np1\tfever\tsymptom\n", "visits.txt")
    assert len(kgmed.read_records(path)) == 1
    assert len(kgmed.read_records(path, sep="\t")) == 1


def test_quote_in_mid_field_is_a_character(write: Writer) -> None:
    # As csv and pandas read it: a quote opens a field only at its start.
    path = write(HEADER + 'p1,5" lesion,symptom\n')
    assert kgmed.read_records(path).data["label"].tolist() == ['5" lesion']


def test_row_with_too_many_fields(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\np2,fever, high,symptom\n")
    with pytest.raises(
        RecordsFileError, match=r"^visits.csv: line 3 has 4 fields but the header has 3"
    ):
        kgmed.read_records(path)


def test_too_many_fields_after_a_multiline_field(write: Writer) -> None:
    path = write(HEADER + 'p1,"fever\nhigh\nvery",symptom\n\np2,cough,symptom,x\n')
    with pytest.raises(RecordsFileError, match="line 6 has 4 fields"):
        kgmed.read_records(path)


def test_trailing_separators(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom,\np2,cough,symptom,\n")
    with pytest.raises(RecordsFileError, match=r"line 2 has 1 more field\(s\) than the header"):
        kgmed.read_records(path)


def test_unclosed_quote(write: Writer) -> None:
    path = write(HEADER + 'p0,flu,disease\np1,"fever,symptom\np2,cough,symptom\n')
    with pytest.raises(
        RecordsFileError,
        match=r"^visits.csv: cannot be parsed as CSV: line 3 opens a quoted field that never closes",
    ):
        kgmed.read_records(path)


def test_unclosed_quote_in_the_last_field(write: Writer) -> None:
    # The quote swallows the rest of the file into one field of the right count.
    path = write(HEADER + 'p0,flu,disease\np1,fever,"symptom\np2,cough,symptom\n')
    with pytest.raises(RecordsFileError, match=r"line 3 opens a quoted field that never closes"):
        kgmed.read_records(path)


# -- errors: the contents, by line ------------------------------------------------------------


def test_missing_column_names_the_file(write: Writer) -> None:
    path = write("Patient_ID,concept,kind\np1,fever,symptom\n")
    with pytest.raises(
        ColumnNotFound, match=r"^visits.csv: column 'patient_id' not found.*'Patient_ID'"
    ):
        kgmed.read_records(path)


def test_missing_patient_names_the_line(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\n\n,cough,symptom\n")
    with pytest.raises(MissingValueError, match=r"^visits.csv: .*\(line 4\)"):
        kgmed.read_records(path)


def test_line_numbers_count_multiline_fields(write: Writer) -> None:
    path = write(HEADER + 'p1,"fever\nhigh",symptom\np2,"a\n\nb",symptom\n,cough,symptom\n')
    with pytest.raises(MissingValueError, match=r"\(line 7\)"):
        kgmed.read_records(path)


def test_unknown_kind_names_the_line(write: Writer) -> None:
    path = write(HEADER + "p1,fever,symptom\np1,BRCA1,gene\np2,TP53,gene\n")
    with pytest.raises(kgmed.UnknownKindError, match=r"'gene'.*\(at line 3, line 4\)"):
        kgmed.read_records(path)


def test_bad_time_names_the_line(write: Writer) -> None:
    path = write(HEADER[:-1] + ",date\np1,fever,symptom,2021-03-04\np1,cough,symptom,yesterday\n")
    with pytest.raises(RecordsError, match=r"column 'date'.*'yesterday' at line 3"):
        kgmed.read_records(path, time="date")


def test_bad_indicator_names_the_line(write: Writer) -> None:
    path = write("dx,fever\nflu,1\nflu,0\ncold,maybe\n")
    with pytest.raises(
        RecordsError, match=r"^visits.csv: indicator column 'fever' holds 'maybe' at line 4"
    ):
        kgmed.read_records(
            path, patient=None, kinds={"disease": "dx"}, indicators={"symptom": "fever"}
        )
