"""detect_format: which reader some records need, and which paths it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgmed.errors import ParameterError, RecordsFileError
from kgmed.records.detect import FORMATS, Detected, detect_format

METADATA = {"runID": "r-1", "seed": 1, "patientCount": 5, "runStartTime": "2024-01-02T03:04:05Z"}
BUNDLE = {"resourceType": "Bundle", "type": "transaction", "entry": []}


def _touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _output(root: Path, *, csv: bool = True, fhir: bool = True) -> Path:
    """A Synthea output folder: csv/, fhir/ and metadata/ as Synthea writes them."""
    output = root / "output"
    if csv:
        _touch(output / "csv" / "patients.csv")
        _touch(output / "csv" / "conditions.csv")
    if fhir:
        _touch(output / "fhir" / "Ann1_Lee2_abc.json", json.dumps(BUNDLE))
        _touch(output / "fhir" / "hospitalInformation1.json", json.dumps(BUNDLE))
    _touch(output / "metadata" / "2024_01_02T03_04_05Z_5_Utah_r_1.json", json.dumps(METADATA))
    return output


def test_files_by_their_names(tmp_path):
    assert detect_format(tmp_path / "visits.csv") == Detected("csv", (tmp_path / "visits.csv",))
    assert detect_format(tmp_path / "visits.tsv.gz").format == "csv"
    for name in ("b.json", "Condition.ndjson", "c.jsonl", "d.ndjson.gz"):
        assert detect_format(tmp_path / name).format == "fhir", name


def test_folders_by_what_they_hold(tmp_path):
    synthea = tmp_path / "synthea"
    _touch(synthea / "patients.csv")
    _touch(synthea / "conditions.csv")
    omop = tmp_path / "omop"
    _touch(omop / "person.csv")
    fhir = tmp_path / "fhir"
    _touch(fhir / "Patient.ndjson", "{}")
    assert detect_format(synthea) == Detected("synthea", (synthea,))
    assert detect_format(omop) == Detected("omop", (omop,))
    assert detect_format(fhir) == Detected("fhir", (fhir,))


def test_a_synthea_output_folder_is_read_through_its_csv_tables(tmp_path):
    output = _output(tmp_path)
    found = detect_format(output)
    assert found.format == "synthea"
    assert found.paths == (output,)  # read_synthea finds csv/ itself
    assert found.notes == (
        f"{output}: a Synthea output folder; reading the CSV tables of its csv/ folder "
        f"(format='fhir' reads its fhir/ folder instead)",
    )
    as_fhir = detect_format(output, format="fhir")
    assert as_fhir.paths == (output / "fhir",)
    assert as_fhir.notes == (
        f"{output}: a Synthea output folder; reading the FHIR files of its fhir/ folder",
    )


def test_a_synthea_output_folder_without_csv_is_read_as_fhir(tmp_path):
    output = _output(tmp_path, csv=False)
    found = detect_format(output)
    assert (found.format, found.paths) == ("fhir", (output / "fhir",))
    assert "with no CSV tables (no csv/ folder)" in found.notes[0]


def test_a_synthea_folder_per_run(tmp_path):
    output = tmp_path / "output"
    _touch(output / "csv" / "2024_01_02T03_04_05Z" / "conditions.csv")
    assert detect_format(output).format == "synthea"
    # Without fhir/, the note says nothing of it.
    assert "fhir" not in detect_format(output).notes[0]
    # Synthea's csv/ folder itself, one folder per run: read_synthea takes the run.
    assert detect_format(output / "csv") == Detected("synthea", (output / "csv",))


def test_run_metadata_is_not_records(tmp_path):
    output = _output(tmp_path)
    metadata = next((output / "metadata").iterdir())
    with pytest.raises(RecordsFileError) as info:
        detect_format(metadata)
    assert str(info.value) == (
        f"{metadata}: is Synthea's run metadata (runID r-1, 5 patients), not records; "
        f"pass {output} (it holds csv/ and fhir/)"
    )
    with pytest.raises(RecordsFileError, match="holds only Synthea's run metadata"):
        detect_format(output / "metadata")
    # Named as FHIR, it is still no FHIR.
    with pytest.raises(RecordsFileError, match="is Synthea's run metadata"):
        detect_format(metadata, format="fhir")


def test_run_metadata_beside_the_csv_folder(tmp_path):
    # As a copy of an export keeps it: run_metadata.json beside csv/.
    folder = tmp_path / "export"
    _touch(folder / "csv" / "conditions.csv")
    metadata = _touch(folder / "run_metadata.json", json.dumps(METADATA))
    assert detect_format(folder).format == "synthea"
    with pytest.raises(RecordsFileError, match=r"pass .*export \(it holds csv/\)$"):
        detect_format(metadata)
    alone = _touch(tmp_path / "alone" / "run.json", json.dumps(METADATA))
    with pytest.raises(RecordsFileError, match="pass the folder Synthea wrote the records to"):
        detect_format(alone)


def test_run_metadata_among_fhir_files_is_left_out(tmp_path):
    folder = tmp_path / "bundles"
    bundle = _touch(folder / "b.json", json.dumps(BUNDLE))
    ndjson = _touch(folder / "Condition.ndjson", "{}")
    _touch(folder / "run_metadata.json", json.dumps(METADATA))
    found = detect_format(folder)
    assert found == Detected(
        "fhir",
        (ndjson, bundle),  # sorted by name
        (f"{folder}: left out run_metadata.json, Synthea's run metadata",),
    )


def test_a_fhir_resource_with_a_run_id_is_fhir(tmp_path):
    path = _touch(tmp_path / "p.json", json.dumps({"resourceType": "Patient", **METADATA}))
    assert detect_format(path).format == "fhir"


def test_an_unknown_folder(tmp_path):
    _touch(tmp_path / "notes.txt", "hello")
    with pytest.raises(
        RecordsFileError, match=r"cannot tell what this folder holds .*pass format="
    ):
        detect_format(tmp_path)
    # Named, the format is taken as given.
    assert detect_format(tmp_path, format="omop") == Detected("omop", (tmp_path,))


def test_mixed_formats_and_bad_arguments(tmp_path):
    with pytest.raises(ParameterError, match=r"the records mix formats \(csv, fhir\)"):
        detect_format([tmp_path / "a.csv", tmp_path / "b.json"])
    with pytest.raises(ParameterError, match="format='xlsx'"):
        detect_format(tmp_path / "a.csv", format="xlsx")
    with pytest.raises(ParameterError, match="no records given"):
        detect_format([])
    assert set(FORMATS) == {"csv", "synthea", "fhir", "omop"}
