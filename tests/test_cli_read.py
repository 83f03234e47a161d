"""How `kgmed build` reads records: --encoding, wide tables, Synthea's folders, its messages."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kgmed
from kgmed.cli import _OPTION_OF, main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "data" / "records.csv"
KAGGLE = Path("disease_symptom_prediction") / "kaggle_layout" / "dataset.csv"
WIDE = ["--kinds", "disease=Disease", "--kinds", "symptom=Symptom_*"]
# A keyword argument as the library's messages write it (sep=, patient=<column>).
KEYWORD = re.compile(r"(?<![\w.-])(" + "|".join(_OPTION_OF) + r")(\[[^\]]*\])?=")
METADATA = {
    "runID": "0f1e2d3c-aaaa-bbbb-cccc-123456789abc",
    "seed": 7,
    "patientCount": 111,
    "runStartTime": "2024-01-02T03:04:05Z",
    "exporter.years_of_history": "10",
    "state": "Nebraska",
    "modules": "*",
}


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


def _error(err: str, *fragments: str) -> None:
    assert err.startswith("kgmed: error: "), err
    assert err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err
    # The command names its options, never the library's keyword arguments.
    assert not KEYWORD.search(err), err


# -- --encoding ----------------------------------------------------------------------


def _cp1252_records(path: Path, n: int = 12) -> Path:
    rows = ["patient_id,concept,kind"]
    for i in range(n):
        rows += [f"p{i},café au lait spots,finding", f"p{i},neurofibromatosis,disease"]
    for i in range(n, 2 * n):
        rows += [f"p{i},naïve smoker,finding"]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    return path


def test_encoding_reaches_the_csv_reader(tmp_path, capsys):
    path = _cp1252_records(tmp_path / "visits.csv")
    status, _, err = _run(capsys, "build", path, "--encoding", "cp1252", "--out", tmp_path / "o")
    assert status == 0, err
    labels = set(kgmed.load(tmp_path / "o" / "graph.json").nodes()["label"])
    assert {"café au lait spots", "naïve smoker"} <= labels
    expected = kgmed.build(kgmed.read_records(path, encoding="cp1252"))
    pd.testing.assert_frame_equal(
        kgmed.load(tmp_path / "o" / "graph.json").edges(), expected.edges()
    )


def test_an_encoding_that_does_not_fit_names_the_option(tmp_path, capsys):
    path = _cp1252_records(tmp_path / "visits.csv")
    status, _, err = _run(capsys, "build", path, "--encoding", "ascii", "--out", tmp_path / "o")
    assert status == 1
    _error(err, "visits.csv: line 2 is not ascii text", "pass --encoding with the file's")


@pytest.mark.parametrize(("fmt", "reader"), [("csv", "read_records"), ("synthea", "read_synthea")])
def test_no_encoding_leaves_the_reader_default(tmp_path, capsys, monkeypatch, fmt, reader):
    calls: list[dict[str, Any]] = []

    def spy(*args: Any, **options: Any) -> Any:
        calls.append(options)
        raise kgmed.RecordsError("stop here")

    monkeypatch.setattr(kgmed, reader, spy)
    for extra in ([], ["--encoding", "utf-16"]):
        status, _, err = _run(capsys, "build", SAMPLE, "--format", fmt, *extra)
        assert status == 1
        _error(err, "stop here")
    assert len(calls) == 2
    assert "encoding" not in calls[0]
    assert calls[1]["encoding"] == "utf-16"


@pytest.mark.shared_data
def test_encoding_reaches_the_synthea_reader(shared_data, tmp_path, capsys):
    # Some patients' names are not ASCII: reading them as ASCII fails, naming the option.
    folder = shared_data / "synthea_csv_111_unmc"
    status, _, err = _run(capsys, "build", folder, "--encoding", "ascii", "--out", tmp_path)
    assert status == 1
    _error(err, "is not ascii text", "pass --encoding")


# -- messages in the command's words --------------------------------------------------


def _stray_comma(tmp_path: Path) -> Path:
    path = tmp_path / "stray.csv"
    path.write_text(
        "patient_id,concept,kind\np1,fever,symptom\np1,fever, high,symptom\n", encoding="utf-8"
    )
    return path


def _latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin.csv"
    path.write_bytes("patient_id,concept,kind\np1,café,symptom\n".encode("latin-1"))
    return path


def _pid(tmp_path: Path) -> Path:
    path = tmp_path / "pid.csv"
    path.write_text("pid,concept,kind\np1,fever,symptom\n", encoding="utf-8")
    return path


def _unknown_folder(tmp_path: Path) -> Path:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.txt").write_text("hello", encoding="utf-8")
    return tmp_path / "folder"


# (keyword, how to meet it: records and options, what the message says instead)
MESSAGES = [
    ("sep", lambda t: [_stray_comma(t)], "pass --sep if fields are split"),
    ("encoding", lambda t: [_latin1(t), "--encoding", "utf-8"], "pass --encoding with the file's"),
    ("patient", lambda t: [_pid(t)], "Pass --patient <column>"),
    ("concept", lambda t: [SAMPLE, "--concept", "term"], "Pass --concept <column>"),
    ("kind", lambda t: [SAMPLE, "--kind", "type"], "Pass --kind <column>"),
    ("code", lambda t: [SAMPLE, "--code", "icd"], "Pass --code <column>"),
    ("encounter", lambda t: [SAMPLE, "--basket", "encounter"], "pass --encounter <column"),
    ("basket", lambda t: [SAMPLE, "--basket", "encounter"], "--basket encounter counts"),
    ("time", lambda t: [SAMPLE, "--birth-date", "age"], "pass --time <column>, or --age"),
    ("age", lambda t: [SAMPLE, "--birth-date", "age"], "or --age <column of ages>"),
    (
        "birth_date",
        lambda t: [SAMPLE, "--age", "age", "--birth-date", "age", "--time", "age"],
        "--age age and --birth-date age: give",
    ),
    ("sex", lambda t: [SAMPLE, "--sex", "gender"], "Pass --sex <column>"),
    ("covariates", lambda t: [SAMPLE, "--covariate", "income"], "Pass --covariate <column>"),
    ("format", lambda t: [_unknown_folder(t)], "pass --format"),
]


@pytest.mark.parametrize(("keyword", "records", "says"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_reader_messages_name_the_options(tmp_path, capsys, keyword, records, says):
    args = records(tmp_path)
    status, _, err = _run(capsys, "build", *args, "--out", tmp_path / "out")
    assert status == 1
    _error(err, says)
    assert _OPTION_OF[keyword] in err


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--kinds", "symptom=Sign_*"], "Pass --kinds symptom=<column>"),
        (["--indicators", "symptom=itching"], "Pass --indicators symptom=<column>"),
        (["--kinds", "disease=Disease", "--patient", "pid"], "Pass --patient <column>"),
    ],
)
def test_wide_reader_messages_name_the_options(shared_data, tmp_path, capsys, option, says):
    status, _, err = _run(capsys, "build", shared_data / KAGGLE, *option, "--out", tmp_path)
    assert status == 1
    _error(err, says)


def test_every_mapped_keyword_is_an_option_of_build():
    from kgmed.cli import cli

    options = {opt for param in cli.commands["build"].params for opt in param.opts}
    assert set(_OPTION_OF.values()) <= options


def test_a_command_without_the_option_keeps_the_keyword():
    from kgmed.cli import _speak_options, cli

    message = "graph.xyz: cannot tell the RDF format from the file name; pass format="
    assert _speak_options(message, cli.commands["query"]) == message
    assert _speak_options(message, cli.commands["export"]).endswith("pass --format")
    assert _speak_options("pass chunksize=None, got 5", cli.commands["build"]) == (
        "leave out --chunksize, got 5"
    )


# -- wide tables: one case per row -----------------------------------------------------


@pytest.mark.shared_data
def test_build_reads_the_kaggle_wide_table(shared_data, tmp_path, capsys):
    path = shared_data / KAGGLE
    status, out, err = _run(capsys, "build", path, *WIDE, "--out", tmp_path, "--json")
    assert status == 0, err
    expected = kgmed.build(
        kgmed.read_records(path, patient=None, kinds={"disease": "Disease", "symptom": "Symptom_*"})
    )
    pd.testing.assert_frame_equal(kgmed.load(tmp_path / "graph.json").edges(), expected.edges())
    summary = json.loads(out)
    assert summary["patients"] == 4920
    assert summary["concepts"] == {"disease": 41, "symptom": 131}
    # Each row is its own patient, and most rows repeat: the command warns, once.
    warning = "4,920 rows count as 4,920 patients, but only 304 rows are distinct"
    assert err.count("kgmed: warning: ") == 1
    assert err.startswith(f"kgmed: warning: {warning}")
    assert "--patient" in err
    assert not KEYWORD.search(err)
    notes = summary["records"]["notes"]
    assert any(warning in note and "--patient" in note for note in notes)
    assert warning in (tmp_path / "report.txt").read_text(encoding="utf-8")
    # docs/cli.md quotes the warning as the command prints it.
    page = " ".join((ROOT / "docs" / "cli.md").read_text(encoding="utf-8").split())
    assert " ".join(err.split()) in page


@pytest.mark.shared_data
def test_distinct_cases_or_a_patient_column_give_no_warning(shared_data, tmp_path, capsys):
    frame = pd.read_csv(shared_data / KAGGLE, dtype=str).drop_duplicates()
    distinct = tmp_path / "distinct.csv"
    frame.to_csv(distinct, index=False)
    status, _, err = _run(capsys, "build", distinct, *WIDE, "--out", tmp_path / "a")
    assert status == 0, err
    assert err == ""
    frame.insert(0, "case", [f"c{i}" for i in range(len(frame))])
    frame = pd.concat([frame, frame])  # every case twice, under its id
    ids = tmp_path / "ids.csv"
    frame.to_csv(ids, index=False)
    status, out, err = _run(
        capsys, "build", ids, *WIDE, "--patient", "case", "--out", tmp_path / "b", "--json"
    )
    assert status == 0, err
    assert err == ""
    assert json.loads(out)["patients"] == 304


def test_build_reads_one_hot_indicators(tmp_path, capsys):
    rows = []
    for i in range(60):
        flu = i < 30
        rows.append(
            {
                "case": f"c{i}",
                "diagnosis": "influenza" if flu else "asthma",
                "fever": int(flu),
                "muscle_pain": int(flu and i % 2 == 0),
                "wheezing": "no" if flu else "yes",
            }
        )
    path = tmp_path / "one_hot.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    args = ["--kinds", "disease=diagnosis", "--indicators", "symptom=fever"]
    args += ["--indicators", "symptom=muscle_pain", "--indicators", "symptom=wheezing"]
    status, _, err = _run(
        capsys, "build", path, *args, "--patient", "case", "--out", tmp_path / "o"
    )
    assert status == 0, err
    built = kgmed.load(tmp_path / "o" / "graph.json")
    expected = kgmed.build(
        kgmed.read_records(
            path,
            patient="case",
            kinds={"disease": "diagnosis"},
            indicators={"symptom": ["fever", "muscle_pain", "wheezing"]},
        )
    )
    pd.testing.assert_frame_equal(built.edges(), expected.edges())
    symptoms = built.edges("has_symptom")
    pairs = set(zip(symptoms["source_label"], symptoms["target_label"], strict=True))
    assert ("influenza", "fever") in pairs
    assert ("asthma", "wheezing") in pairs


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--kinds", "Disease"], "give KIND=COLUMN"),
        (["--kinds", "Symptom_1=symptom"], "the kind comes first, then the column: --kinds"),
        (["--indicators", "virus=itching"], "unknown kind 'virus'"),
        (["--kinds", "disease=Disease", "--concept", "label"], "--concept: for a long table"),
        (["--kinds", "disease=Disease", "--chunksize", "10"], "--chunksize: for a long table"),
        (["--kinds", "disease=Disease", "--basket", "encounter"], "--basket encounter needs"),
        (["--kinds", "disease=Disease", "--format", "fhir"], "read a CSV table"),
    ],
)
def test_wide_usage_errors_exit_2(capsys, tmp_path, args, says):
    status, _, err = _run(capsys, "build", SAMPLE, *args, "--out", tmp_path)
    assert status == 2
    assert "Usage: kgmed build" in err
    assert says in " ".join(err.split()), err


def test_build_help_shows_the_wide_options(capsys):
    _, out, _ = _run(capsys, "build", "--help")
    text = " ".join(out.split())
    for fragment in ("--kinds KIND=COLUMN", "--indicators KIND=COLUMN", "--encoding TEXT"):
        assert fragment in text
    assert "--kinds 'symptom=Symptom_*'" in text.split("Examples:")[1]


# -- folders as Synthea writes them ---------------------------------------------------


def _synthea_output(shared_data: Path, root: Path, *, csv: bool = True, run: str = "") -> Path:
    """Synthea's output folder: csv/ (the 111-patient export), fhir/ (2 bundles), metadata/."""
    output = root / "output"
    tables = output / "csv" / run if run else output / "csv"
    if csv:
        tables.mkdir(parents=True)
        for path in (shared_data / "synthea_csv_111_unmc").glob("*.csv"):
            (tables / path.name).symlink_to(path)
    (output / "fhir").mkdir(parents=True)
    for name in ("Levi940", "Man114"):
        for path in (shared_data / "synthea_csv_59_ca" / "fhir_r4").glob(f"{name}_*.json"):
            shutil.copy(path, output / "fhir" / path.name)
    (output / "metadata").mkdir()
    name = "2024_01_02T03_04_05Z_111_Nebraska_0f1e2d3c.json"
    (output / "metadata" / name).write_text(json.dumps(METADATA, indent=2), encoding="utf-8")
    return output


@pytest.mark.shared_data
def test_build_reads_a_synthea_output_folder(shared_data, tmp_path, capsys):
    output = _synthea_output(shared_data, tmp_path)
    status, out, err = _run(capsys, "build", output, "--out", tmp_path / "o", "--json")
    assert status == 0, err
    assert err == (
        f"kgmed: note: {output}: a Synthea output folder; reading the CSV tables of its csv/ "
        f"folder (--format fhir reads its fhir/ folder instead)\n"
    )
    expected = kgmed.build(kgmed.read_synthea(shared_data / "synthea_csv_111_unmc"))
    built = kgmed.load(tmp_path / "o" / "graph.json")
    pd.testing.assert_frame_equal(built.edges(), expected.edges())
    summary = json.loads(out)
    assert summary["records"]["source"] == "output/csv"
    assert "a Synthea output folder" in summary["records"]["notes"][0]
    assert "a Synthea output folder" in (tmp_path / "o" / "report.txt").read_text("utf-8")


@pytest.mark.shared_data
def test_a_synthea_output_folder_read_as_fhir(shared_data, tmp_path, capsys):
    output = _synthea_output(shared_data, tmp_path)
    args = ["--out", tmp_path / "o", "--min-patients", "1", "--json"]
    status, out, err = _run(capsys, "build", output, "--format", "fhir", *args)
    assert status == 0, err
    assert "reading the FHIR files of its fhir/ folder" in err
    n_patients = kgmed.read_fhir(output / "fhir").n_patients
    assert n_patients == 2
    assert json.loads(out)["patients"] == n_patients
    # Without csv/, the FHIR files are what the folder holds.
    shutil.rmtree(output / "csv")
    status, out, err = _run(capsys, "build", output, *args)
    assert status == 0, err
    assert "with no CSV tables (no csv/ folder); reading the FHIR files" in err
    assert json.loads(out)["patients"] == 2


@pytest.mark.shared_data
def test_synthea_run_metadata_points_at_the_folder(shared_data, tmp_path, capsys):
    output = _synthea_output(shared_data, tmp_path)
    metadata = next((output / "metadata").iterdir())
    status, _, err = _run(capsys, "build", metadata, "--out", tmp_path / "o")
    assert status == 1
    _error(
        err,
        f"{metadata}: is Synthea's run metadata (runID {METADATA['runID']}, 111 patients), "
        f"not records; pass {output} (it holds csv/ and fhir/)",
    )
    status, _, err = _run(capsys, "build", output / "metadata", "--out", tmp_path / "o")
    assert status == 1
    _error(err, "holds only Synthea's run metadata, not records", f"pass {output}")
    assert not (tmp_path / "o").exists()


@pytest.mark.shared_data
def test_a_synthea_folder_per_run(shared_data, tmp_path, capsys):
    output = _synthea_output(shared_data, tmp_path, run="2024_01_02T03_04_05Z")
    status, out, err = _run(capsys, "build", output, "--out", tmp_path / "o", "--json")
    assert status == 0, err
    assert json.loads(out)["records"]["source"] == "output/csv/2024_01_02T03_04_05Z"
    second = output / "csv" / "2024_02_03T04_05_06Z"
    second.mkdir()
    (second / "conditions.csv").symlink_to(
        output / "csv" / "2024_01_02T03_04_05Z" / "conditions.csv"
    )
    status, _, err = _run(capsys, "build", output, "--out", tmp_path / "o")
    assert status == 1
    note, error = err.split("\n", 1)
    assert note.startswith(f"kgmed: note: {output}: a Synthea output folder")
    _error(
        error,
        "output/csv: holds 2 Synthea runs, one folder each "
        "(2024_01_02T03_04_05Z, 2024_02_03T04_05_06Z); pass the folder of the run to read",
    )


def test_encoding_and_fhir(tmp_path, capsys, monkeypatch):
    import inspect

    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "entry": []}), encoding="utf-8")
    if "encoding" in inspect.signature(kgmed.read_fhir).parameters:
        calls: list[dict[str, Any]] = []

        def spy(*args: Any, **options: Any) -> Any:
            calls.append(options)
            raise kgmed.RecordsError("stop here")

        monkeypatch.setattr(kgmed, "read_fhir", spy)
        status, _, err = _run(capsys, "build", bundle, "--encoding", "utf-16")
        assert status == 1
        assert calls[0]["encoding"] == "utf-16"
    else:
        # This read_fhir reads JSON as UTF-8 only: the option is refused, not ignored.
        status, _, err = _run(capsys, "build", bundle, "--encoding", "utf-16")
        assert status == 2
        assert "--encoding: FHIR files are read as JSON, which is UTF-8" in err
