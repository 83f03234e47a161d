"""The kgmed command: every subcommand, its JSON, its exit codes and its errors."""

from __future__ import annotations

import csv
import fcntl
import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kgmed
from kgmed.cli import BUILD_OUTPUTS, main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "data" / "records.csv"
OUTPUTS = sorted(BUILD_OUTPUTS)
SUBCOMMANDS = ["build", "query", "paths", "link", "export", "push", "html", "demo"]


@pytest.fixture(scope="module")
def sample_kg() -> tuple[kgmed.Records, kgmed.KnowledgeGraph]:
    """The sample read and built as the command should, through the Python API."""
    records = kgmed.read_records(SAMPLE, code="code", system="system", age="age", sex="sex")
    return records, kgmed.build(records)


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """graph.json written by `kgmed build` on the bundled sample."""
    out = tmp_path_factory.mktemp("built")
    assert main(["build", str(SAMPLE), "--out", str(out)]) == 0
    return out / "graph.json"


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = main([str(a) for a in args])
    printed = capsys.readouterr()
    return status, printed.out, printed.err


def _one_line_error(err: str, *fragments: str) -> None:
    assert err.startswith("kgmed: error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


# -- build -------------------------------------------------------------------


def test_build_writes_every_file(tmp_path, capsys, sample_kg):
    out = tmp_path / "out"
    status, printed, err = _run(capsys, "build", SAMPLE, "--out", out)
    assert status == 0
    assert err == ""
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    records, kg = sample_kg
    saved = kgmed.load(out / "graph.json")
    pd.testing.assert_frame_equal(saved.edges(), kg.edges())
    pd.testing.assert_frame_equal(saved.nodes(), kg.nodes())
    rdf = kgmed.load(out / "graph.ttl")
    assert set(rdf.graph.edges(keys=True)) == set(kg.graph.edges(keys=True))
    nodes = pd.read_csv(out / "nodes.csv", dtype={"code": str})
    assert nodes.columns.tolist() == kg.nodes().columns.tolist()
    assert nodes["id"].tolist() == kg.nodes()["id"].tolist()
    assert nodes["n_patients"].tolist() == kg.nodes()["n_patients"].tolist()
    edges = pd.read_csv(out / "edges.csv")
    assert len(edges) == len(kg.edges())
    assert edges["lift"].dtype == float
    # Only what holds: every mined edge positive and significant.
    assert (edges["leverage"] > 0).all()
    assert (edges["q_value"] < 0.05).all()
    rules = pd.read_csv(out / "rules.csv")
    assert len(rules) == len(kg.rules)
    assert rules["antecedents"].iloc[0] == "; ".join(sorted(kg.rules["antecedents"].iloc[0]))
    assert (out / "report.txt").read_text(encoding="utf-8") == str(records.report) + "\n"
    assert str(records.report) in printed
    assert repr(kg) in printed
    assert f"wrote {', '.join(OUTPUTS)} to {out}/" in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["patients"] == 3000
    assert summary["concepts"] == {"disease": 15, "symptom": 26, "treatment": 21}
    assert sum(summary["relations"].values()) == len(kg.edges())
    assert summary["records"]["n_read"] == records.report.n_read
    assert summary["params"]["min_patients"] == 11
    kept = summary["params"]["edges"]
    assert kept["kept"] == len(kg.edges()) < kept["tested"]
    assert f"relations tested: {kept['tested']:,}; kept: {kept['kept']:,}" in printed
    for why, n in kept["dropped"].items():
        assert f"  dropped, {why}: {n:,}" in printed


def test_build_keep_all_and_the_rule_options(tmp_path, capsys):
    status, _, _ = _run(
        capsys, "build", SAMPLE, "--out", tmp_path, "--keep", "all", "--relations", "annotated"
    )
    assert status == 0
    every = kgmed.load(tmp_path / "graph.json")
    assert every.params["keep"] == "all"
    assert (~every.edges()["holds"].astype(bool)).any()
    options = ["--max-q-value", "0.001", "--min-lift", "1.5", "--min-weight", "0.2"]
    status, _, _ = _run(capsys, "build", SAMPLE, "--out", tmp_path / "s", *options, "--no-adjust")
    assert status == 0
    strict = kgmed.load(tmp_path / "s" / "graph.json")
    assert strict.params["max_q_value"] == 0.001
    assert strict.params["min_lift"] == 1.5
    assert strict.params["min_weight"] == 0.2
    assert strict.params["adjusted_for"] == []
    edges = strict.edges()
    assert (edges["lift"] > 1.5).all()
    assert (edges["q_value"] < 0.001).all()


def test_build_json_prints_the_summary(tmp_path, capsys):
    status, printed, _ = _run(capsys, "build", SAMPLE, "--out", tmp_path, "--json")
    assert status == 0
    summary = json.loads(printed)
    assert summary == json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["written"] == OUTPUTS
    assert summary["out"] == str(tmp_path)


def test_the_summary_names_the_record_counts(tmp_path, capsys):
    raw = pd.read_csv(SAMPLE, dtype=str)
    _, out, _ = _run(capsys, "build", SAMPLE, "--out", tmp_path)
    lines = dict(re.findall(r"^  (\S.*?)\s{2,}([\d,]+)$", out, flags=re.MULTILINE))
    assert lines["read"] == f"{len(raw):,}"
    assert lines["patients"] == f"{raw['patient_id'].nunique():,}"
    assert lines["concepts"] == "62"
    kept = int(lines["kept"].replace(",", ""))
    duplicates = int(lines["dropped: duplicate"].replace(",", ""))
    assert kept + duplicates == len(raw)
    assert "strongest has_symptom" in out
    assert "strongest treated_with" in out


def test_options_reach_build(tmp_path, capsys):
    status, out, _ = _run(
        capsys, "build", SAMPLE, "--out", tmp_path, "--min-patients", "200", "--top", "2"
    )
    assert status == 0
    assert "min_patients=200" in out
    assert "were left out (privacy floor)" in out
    kg = kgmed.load(tmp_path / "graph.json")
    assert kg.params["min_patients"] == 200
    assert int(kg.edges()["n_patients"].min()) >= 200
    section = out.split("strongest has_symptom")[1].split("\n\n")[0]
    # The heading's tail, the column names, and two rows.
    assert len(section.strip().splitlines()) == 1 + 1 + 2


def test_relations_and_algorithm_reach_build(tmp_path, capsys):
    status, _, _ = _run(
        capsys,
        "build",
        SAMPLE,
        "--out",
        tmp_path,
        "--relations",
        "association",
        "--algorithm",
        "apriori",
    )
    assert status == 0
    kg = kgmed.load(tmp_path / "graph.json")
    assert kg.params["relations"] == "association"
    assert kg.params["algorithm"] == "apriori"


def test_build_joins_several_csv_files(tmp_path, capsys, sample_kg):
    """Rows split over two files (some in both) give the graph of the whole file."""
    raw = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    first = raw.iloc[: len(raw) * 2 // 3]
    second = raw.iloc[len(raw) // 2 :]
    first.to_csv(tmp_path / "a.csv", index=False)
    second.to_csv(tmp_path / "b.csv", index=False)
    status, out, err = _run(
        capsys, "build", tmp_path / "a.csv", tmp_path / "b.csv", "--out", tmp_path / "out"
    )
    assert status == 0, err
    assert "appeared in more than one file (counted once)" in out
    records, kg = sample_kg
    joined = kgmed.load(tmp_path / "out" / "graph.json")
    key = ["relation", "source", "target", "n_patients"]
    pd.testing.assert_frame_equal(
        joined.edges()[key].sort_values(key).reset_index(drop=True),
        kg.edges()[key].sort_values(key).reset_index(drop=True),
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["records"]["n_read"] == len(first) + len(second)
    assert summary["records"]["n_kept"] == records.report.n_kept
    assert set(summary["records"]["files"]) == {"a.csv", "b.csv"}


def test_csv_files_that_disagree_on_a_kind_exit_1(tmp_path, capsys):
    (tmp_path / "a.csv").write_text("patient_id,concept,kind\np1,asthma,disease\n")
    (tmp_path / "b.csv").write_text("patient_id,concept,kind\np2,asthma,symptom\n")
    status, _, err = _run(capsys, "build", tmp_path / "a.csv", tmp_path / "b.csv")
    assert status == 1
    _one_line_error(err, "asthma", "a disease in one file and a symptom in another")


def test_csv_column_options(tmp_path, capsys):
    path = tmp_path / "visits.tsv"
    lines = ["pid\tterm\tcat"]
    for i in range(40):
        lines += [f"p{i}\tInfluenza\tdisease", f"p{i}\tfever\tsymptom"]
    lines += [f"q{i}\tcough\tsymptom" for i in range(40)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["build", path, "--out", tmp_path / "out", "--patient", "pid", "--concept", "term"]
    status, out, err = _run(capsys, *args, "--kind", "cat", "--sep", "\t", "--chunksize", "7")
    assert status == 0, err
    kg = kgmed.load(tmp_path / "out" / "graph.json")
    edge = kg.edges("has_symptom").iloc[0]
    assert (edge["source_label"], edge["target_label"], edge["n_patients"]) == (
        "Influenza",
        "fever",
        40,
    )
    assert "80 patients" in out


def _fhir_export(folder: Path, n: int = 40) -> Path:
    """An NDJSON bulk export: n patients with influenza, fever and oseltamivir, n with asthma."""
    folder.mkdir()
    snomed, rxnorm = "http://snomed.info/sct", "http://www.nlm.nih.gov/research/umls/rxnorm"

    def coded(system: str, code: str, display: str) -> dict[str, Any]:
        return {"coding": [{"system": system, "code": code, "display": display}]}

    conditions, drugs = [], []
    for i in range(2 * n):
        subject = {"reference": f"Patient/p{i}"}
        if i < n:
            disease, finding = ("6142004", "Influenza"), ("386661006", "Fever")
            drugs.append(
                {
                    "resourceType": "MedicationRequest",
                    "id": f"m{i}",
                    "subject": subject,
                    "medicationCodeableConcept": coded(rxnorm, "260101", "oseltamivir"),
                }
            )
        else:
            disease, finding = ("195967001", "Asthma"), ("49727002", "Cough")
        for j, (code, display) in enumerate([disease, finding]):
            tag = "(disorder)" if j == 0 else "(finding)"
            conditions.append(
                {
                    "resourceType": "Condition",
                    "id": f"c{i}-{j}",
                    "subject": subject,
                    "code": coded(snomed, code, f"{display} {tag}"),
                }
            )
    for name, resources in [("Condition", conditions), ("MedicationRequest", drugs)]:
        text = "\n".join(json.dumps(r) for r in resources) + "\n"
        (folder / f"{name}.ndjson").write_text(text, encoding="utf-8")
    return folder


def test_build_reads_a_fhir_export(tmp_path, capsys):
    folder = _fhir_export(tmp_path / "fhir")
    status, out, err = _run(capsys, "build", folder, "--out", tmp_path / "out")
    assert status == 0, err
    assert "80 patients" in out
    built = kgmed.load(tmp_path / "out" / "graph.json")
    expected = kgmed.build(kgmed.read_fhir(folder))
    pd.testing.assert_frame_equal(built.edges(), expected.edges())
    treated = built.edges("treated_with")
    assert treated[["source_label", "target_label", "n_patients"]].values.tolist() == [
        ["Influenza", "oseltamivir", 40]
    ]
    symptoms = built.edges("has_symptom")
    assert sorted(zip(symptoms["source_label"], symptoms["target_label"], strict=True)) == [
        ("Asthma", "Cough"),
        ("Influenza", "Fever"),
    ]


def _omop_folder(folder: Path, n: int = 30) -> Path:
    folder.mkdir()
    concept = pd.DataFrame(
        [
            (201826, "Type 2 diabetes mellitus", "SNOMED", "Disorder", "44054006"),
            (254761, "Cough", "SNOMED", "Clinical Finding", "49727002"),
            (1308216, "lisinopril", "RxNorm", "Ingredient", "29046"),
        ],
        columns=["concept_id", "concept_name", "vocabulary_id", "concept_class_id", "concept_code"],
    )
    persons = list(range(1, 2 * n + 1))
    conditions = pd.DataFrame(
        {
            "person_id": persons,
            "condition_concept_id": [201826] * n + [254761] * n,
            "condition_start_date": "2020-01-02",
        }
    )
    drugs = pd.DataFrame(
        {
            "person_id": persons[:n],
            "drug_concept_id": 1308216,
            "drug_exposure_start_date": "2020-01-03",
        }
    )
    pd.DataFrame({"person_id": persons}).to_csv(folder / "person.csv", index=False)
    concept.to_csv(folder / "concept.csv", index=False)
    conditions.to_csv(folder / "condition_occurrence.csv", index=False)
    drugs.to_csv(folder / "drug_exposure.csv", index=False)
    return folder


def test_build_reads_an_omop_folder(tmp_path, capsys):
    folder = _omop_folder(tmp_path / "omop")
    status, _, err = _run(capsys, "build", folder, "--out", tmp_path / "out", "--json")
    assert status == 0, err
    built = kgmed.load(tmp_path / "out" / "graph.json")
    expected = kgmed.build(kgmed.read_omop(folder))
    pd.testing.assert_frame_equal(built.edges(), expected.edges())
    treated = built.edges("treated_with")
    assert treated[["source_label", "target_label", "n_patients"]].values.tolist() == [
        ["Type 2 diabetes mellitus", "lisinopril", 30]
    ]


@pytest.mark.shared_data
def test_build_reads_a_synthea_folder(tmp_path, capsys, shared_data):
    folder = shared_data / "synthea_csv_59_ca" / "csv"
    status, out, err = _run(capsys, "build", folder, "--out", tmp_path, "--min-patients", "5")
    assert status == 0, err
    built = kgmed.load(tmp_path / "graph.json")
    expected = kgmed.build(kgmed.read_synthea(folder), min_patients=5)
    pd.testing.assert_frame_equal(built.edges(), expected.edges())
    assert f"{expected.params['n_patients']} patients" in out
    # Naming the format gives the same; a reader of one folder takes one path.
    assert main(["build", str(folder), "--format", "synthea", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    status, _, err = _run(capsys, "build", folder, folder, "--format", "synthea")
    assert status == 2
    assert "--format synthea reads one folder; got 2 paths" in err


@pytest.mark.shared_data
def test_fhir_file_names_that_name_patients_are_not_written(tmp_path, capsys, shared_data):
    """Synthea names each FHIR Bundle after its patient: no output repeats those names."""
    folder = shared_data / "synthea_csv_59_ca" / "fhir_r4"
    names = [p.stem for p in folder.glob("*.json")]
    assert len(names) >= 2
    status, printed, err = _run(capsys, "build", folder, "--out", tmp_path, "--min-patients", "2")
    assert status == 0, err
    assert "per file:" in printed
    assert "file 1" in printed
    words = {word for name in names for word in name.split("_")}
    texts = [printed, err] + [(tmp_path / n).read_text(encoding="utf-8") for n in BUILD_OUTPUTS]
    for text in texts:
        assert not any(word in text for word in words)


def test_a_folder_of_unknown_files_exits_1(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    status, _, err = _run(capsys, "build", tmp_path, "--out", tmp_path / "out")
    assert status == 1
    _one_line_error(err, "cannot tell what this folder holds", "pass --format")


def test_mixed_formats_exit_1(tmp_path, capsys):
    folder = _fhir_export(tmp_path / "fhir")
    status, _, err = _run(capsys, "build", SAMPLE, folder)
    assert status == 1
    _one_line_error(err, "the records mix formats (csv, fhir)")


def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "missing.csv: no such file"),
        ("empty.csv", "", "empty.csv: the file is empty"),
        ("sheet.csv", b"PK\x03\x04\x00\x00binary\x00", "sheet.csv: looks like a binary file"),
        ("columns.csv", "pid,concept,kind\np1,flu,disease\n", "column 'patient_id' not found"),
        ("kinds.csv", "patient_id,concept,kind\np1,flu,virus\n", "unknown kind 'virus'"),
        ("bundle.json", "{not json", "bundle.json"),
    ],
)
def test_bad_input_exits_1_with_a_message(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is not None:
        _write(path, content)
    status, _, err = _run(capsys, "build", path, "--out", tmp_path / "out")
    assert status == 1
    _one_line_error(err, message)
    assert not (tmp_path / "out").exists()


def test_bad_parameter_exits_1(tmp_path, capsys):
    status, _, err = _run(capsys, "build", SAMPLE, "--out", tmp_path, "--min-support", "2")
    assert status == 1
    _one_line_error(err, "min_support")


def test_an_output_folder_that_is_a_file_exits_2(tmp_path, capsys):
    blocker = _write(tmp_path / "out", "not a folder")
    status, _, err = _run(capsys, "build", SAMPLE, "--out", blocker)
    assert status == 2
    assert "is a file" in err


def test_an_output_folder_that_cannot_be_made_exits_1(tmp_path, capsys):
    blocker = _write(tmp_path / "file", "not a folder")
    status, _, err = _run(capsys, "build", SAMPLE, "--out", blocker / "out")
    assert status == 1
    _one_line_error(err, "file")


@pytest.mark.parametrize("top", ["0", "-3", "five"])
def test_top_must_be_a_positive_whole_number(top, capsys):
    status, _, err = _run(capsys, "build", "records.csv", "--top", top)
    assert status == 2
    assert "--top" in err


@pytest.mark.parametrize(
    "args",
    [
        ["build"],  # no records
        ["build", "x.csv", "--format", "xlsx"],
        ["build", "x.csv", "--no-such-option"],
        ["build", "x.csv", "--min-support", "lots"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(args, capsys):
    status, out, err = _run(capsys, *args)
    assert status == 2
    assert "Usage: kgmed" in err
    assert "Error:" in err
    assert "Traceback" not in err + out


def test_progress_bars_go_to_standard_error(tmp_path, capsys):
    status, out, err = _run(capsys, "build", SAMPLE, "--out", tmp_path, "--progress", "--json")
    assert status == 0
    json.loads(out)  # the bars leave standard output alone
    assert "build" in err
    assert "write" in err
    _, _, quiet = _run(capsys, "build", SAMPLE, "--out", tmp_path, "--no-progress", "--json")
    assert quiet == ""


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_formula_labels_are_defused_in_the_csv_files(tmp_path, capsys, start):
    label = f'{start}HYPERLINK("http://example.invalid","x")'
    rows = [("patient_id", "concept", "kind")]
    for i in range(30):
        rows += [(f"p{i}", label, "disease"), (f"p{i}", "fever", "symptom")]
    for i in range(30, 60):
        rows += [(f"p{i}", "cough", "symptom")]
    path = tmp_path / "records.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    assert main(["build", str(path), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    with (tmp_path / "out" / "nodes.csv").open(newline="", encoding="utf-8") as f:
        nodes = list(csv.DictReader(f))
    labels = {row["id"]: row["label"] for row in nodes}
    disease = next(i for i, row in enumerate(nodes) if row["kind"] == "disease")
    assert nodes[disease]["label"] == "'" + label
    assert labels["local:fever"] == "fever"
    with (tmp_path / "out" / "edges.csv").open(newline="", encoding="utf-8") as f:
        edges = list(csv.DictReader(f))
    has_symptom = [row for row in edges if row["relation"] == "has_symptom"]
    assert [row["source_label"] for row in has_symptom] == ["'" + label]
    assert [row["target_label"] for row in has_symptom] == ["fever"]
    assert all(not cell.startswith(("=", "+", "@")) for row in edges for cell in row.values())
    # The graph itself keeps the label as written.
    assert label in set(kgmed.load(tmp_path / "out" / "graph.json").nodes()["label"])


def test_no_patient_identifier_is_written(tmp_path, capsys):
    raw = pd.read_csv(SAMPLE, dtype=str)
    assert main(["build", str(SAMPLE), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    ids = set(raw["patient_id"].str.strip())
    pattern = re.compile("|".join(sorted(map(re.escape, ids), key=len, reverse=True)))
    for name in BUILD_OUTPUTS:
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert not pattern.search(text), name
    assert not pattern.search(printed)


# -- query, paths, link ---------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "method", "term"),
    [
        ("symptoms-of", "symptoms_of", "influenza"),
        ("treatments-for", "treatments_for", "heart failure"),
        ("diseases-with", "diseases_with", "fever"),
    ],
)
def test_query_answers_the_three_questions(graph_file, capsys, question, method, term):
    kg = kgmed.load(graph_file)
    expected = getattr(kg, method)(term)
    status, out, _ = _run(capsys, "query", graph_file, question, *term.split())
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == f"{question.replace('-', ' ')} {term} ({kg.resolve(term)}): {len(expected)}"
    assert lines[1].split()[0] == "label"
    assert [line.split("  ")[0].strip() for line in lines[2:]] == expected["label"].tolist()
    status, out, _ = _run(capsys, "query", graph_file, question, term, "--json")
    answer = json.loads(out)
    assert answer["concept"] == kg.resolve(term)
    assert [row["label"] for row in answer["results"]] == expected["label"].tolist()
    assert [row["n_patients"] for row in answer["results"]] == expected["n_patients"].tolist()


def test_query_filters(graph_file, capsys):
    kg = kgmed.load(graph_file)
    _, out, _ = _run(capsys, "query", graph_file, "symptoms-of", "influenza", "--limit", "2")
    assert len(out.splitlines()) == 2 + 2
    _, out, _ = _run(
        capsys, "query", graph_file, "diseases-with", "fever", "--max-q", "1e-50", "--json"
    )
    rows = json.loads(out)["results"]
    expected = kg.diseases_with("fever", max_q_value=1e-50)
    assert [row["label"] for row in rows] == expected["label"].tolist()
    assert all(row["q_value"] <= 1e-50 for row in rows)
    _, out, _ = _run(capsys, "query", graph_file, "symptoms-of", "influenza", "--min-lift", "1000")
    assert out == "no symptoms of influenza pass the filters\n"


def test_query_errors(graph_file, tmp_path, capsys):
    status, _, err = _run(capsys, "query", graph_file, "symptoms-of", "influenzza")
    assert status == 1
    _one_line_error(err, "no concept 'influenzza'", "influenza")
    status, _, err = _run(capsys, "query", tmp_path / "none.json", "symptoms-of", "flu")
    assert status == 1
    _one_line_error(err, "none.json: no such file")
    status, _, err = _run(capsys, "query", tmp_path, "symptoms-of", "flu")
    assert status == 2  # a folder is not a graph file: click says so
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    status, _, err = _run(capsys, "query", tmp_path / "broken.json", "symptoms-of", "flu")
    assert status == 1
    _one_line_error(err, "broken.json")
    status, _, err = _run(capsys, "query", graph_file, "causes-of", "flu")
    assert status == 2
    assert "'causes-of' is not one of" in err
    status, _, err = _run(capsys, "query", graph_file, "symptoms-of")
    assert status == 2
    assert "Missing argument 'TERM...'" in err


def test_query_reads_turtle_too(graph_file, capsys):
    turtle = graph_file.with_name("graph.ttl")
    _, from_json, _ = _run(capsys, "query", graph_file, "treatments-for", "pneumonia")
    _, from_turtle, _ = _run(capsys, "query", turtle, "treatments-for", "pneumonia")
    assert from_turtle == from_json


def test_paths_explain_each_path(graph_file, tmp_path, capsys):
    kg = kgmed.load(graph_file)
    expected = kg.paths("fever", "oseltamivir", k=2)
    page = tmp_path / "paths.html"
    status, out, _ = _run(
        capsys, "paths", graph_file, "fever", "oseltamivir", "-k", "2", "--html", page
    )
    assert status == 0
    assert out == "\n\n".join(p.explain() for p in expected) + f"\n\nwrote {page}\n"
    assert "oseltamivir" in page.read_text(encoding="utf-8")
    status, out, _ = _run(capsys, "paths", graph_file, "fever", "oseltamivir", "--json")
    answer = json.loads(out)
    assert answer["paths"] == [p.to_dict() for p in kg.paths("fever", "oseltamivir")]
    assert answer["paths"][0]["labels"] == ["fever", "influenza", "oseltamivir"]


def test_paths_options_and_errors(graph_file, capsys):
    kg = kgmed.load(graph_file)
    _, out, _ = _run(
        capsys,
        "paths",
        graph_file,
        "polyuria",
        "lisinopril",
        "--via",
        "disease",
        "--via",
        "disease",
        "--json",
    )
    expected = kg.paths("polyuria", "lisinopril", via=["disease", "disease"])
    found = json.loads(out)["paths"]
    assert found == [p.to_dict() for p in expected]
    assert found
    assert all(p["kinds"] == ["symptom", "disease", "disease", "treatment"] for p in found)
    status, _, err = _run(capsys, "paths", graph_file, "fever", "cough", "--via", "organ")
    assert status == 2
    status, _, err = _run(capsys, "paths", graph_file, "fever", "no such thing")
    assert status == 1
    _one_line_error(err, "no concept 'no such thing'")
    status, _, err = _run(capsys, "paths", graph_file, "fever", "cough", "--relation", "cures")
    assert status == 1
    _one_line_error(err, "cures")
    status, _, err = _run(capsys, "paths", graph_file, "fever")
    assert status == 2


def test_link_explains_and_matches_the_api(graph_file, tmp_path, capsys):
    kg = kgmed.load(graph_file)
    expected = kg.link({"present": ["fever", "muscle pian"], "absent": ["cough"]})
    page = tmp_path / "patient.html"
    status, out, _ = _run(
        capsys,
        "link",
        graph_file,
        "fever",
        "muscle pian",
        "--absent",
        "cough",
        "--html",
        page,
    )
    assert status == 0
    assert out == expected.explain() + f"\n\nwrote {page}\n"
    assert "muscle pain (for 'muscle pian')" in out
    assert page.stat().st_size > 1000
    _, out, _ = _run(
        capsys, "link", graph_file, "fever", "muscle pian", "--absent", "cough", "--json"
    )
    assert json.loads(out) == json.loads(json.dumps(expected.to_dict()))


def test_link_known_diagnoses_and_treatments(graph_file, capsys):
    kg = kgmed.load(graph_file)
    patient = {"present": ["edema"], "diagnoses": ["heart failure"], "treatments": ["furosemide"]}
    expected = kg.link(patient, top=3)
    args = ["link", graph_file, "edema", "--diagnosis", "heart failure"]
    _, out, _ = _run(capsys, *args, "--treatment", "furosemide", "--top", "3", "--json")
    assert json.loads(out) == json.loads(json.dumps(expected.to_dict()))
    assert len(json.loads(out)["diagnoses"]) <= 3


def test_link_errors(graph_file, capsys):
    status, _, err = _run(capsys, "link", graph_file)
    assert status == 2
    assert "Missing argument 'TERMS...'" in err
    status, _, err = _run(capsys, "link", graph_file, "fever", "--top", "0")
    assert status == 2


# -- export, push, html ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "name"),
    [
        ("turtle", "g.ttl"),
        ("nt", "g.nt"),
        ("json-ld", "g.jsonld"),
        ("xml", "g.rdf"),
        ("json", "g.json"),
    ],
)
def test_export_round_trips(graph_file, tmp_path, capsys, fmt, name):
    kg = kgmed.load(graph_file)
    target = tmp_path / name
    status, out, _ = _run(capsys, "export", graph_file, "--format", fmt, "--out", target)
    assert status == 0
    assert out == f"wrote {target}\n"
    back = kgmed.load(target)
    assert set(back.graph.edges(keys=True)) == set(kg.graph.edges(keys=True))


def test_export_without_evidence_is_smaller(graph_file, tmp_path, capsys):
    full, bare = tmp_path / "full.nt", tmp_path / "bare.nt"
    assert main(["export", str(graph_file), "--format", "nt", "--out", str(full)]) == 0
    assert (
        main(["export", str(graph_file), "--format", "nt", "--out", str(bare), "--no-evidence"])
        == 0
    )
    capsys.readouterr()
    assert "qValue" in full.read_text(encoding="utf-8")
    assert "qValue" not in bare.read_text(encoding="utf-8")
    assert bare.stat().st_size < full.stat().st_size / 2


def test_export_kgx_and_csv(graph_file, tmp_path, capsys):
    kg = kgmed.load(graph_file)
    status, out, _ = _run(
        capsys, "export", graph_file, "--format", "kgx", "--out", tmp_path / "kgx", "--json"
    )
    assert status == 0
    written = json.loads(out)["written"]
    assert sorted(Path(p).name for p in written) == ["kgmed_edges.tsv", "kgmed_nodes.tsv"]
    nodes = pd.read_csv(tmp_path / "kgx" / "kgmed_nodes.tsv", sep="\t")
    assert len(nodes) == len(kg.nodes())
    status, _, _ = _run(capsys, "export", graph_file, "--format", "csv", "--out", tmp_path / "t")
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "edges.csv",
        "nodes.csv",
        "rules.csv",
    ]
    assert len(pd.read_csv(tmp_path / "t" / "edges.csv")) == len(kg.edges())


def test_export_errors(graph_file, tmp_path, capsys):
    status, _, err = _run(capsys, "export", graph_file, "--format", "docx", "--out", tmp_path / "x")
    assert status == 2
    assert "'docx' is not one of" in err
    status, _, err = _run(capsys, "export", graph_file, "--format", "nt")
    assert status == 2
    assert "Missing option '--out'" in err
    status, _, err = _run(
        capsys, "export", tmp_path / "none.json", "--format", "nt", "--out", tmp_path / "x.nt"
    )
    assert status == 1
    _one_line_error(err, "none.json: no such file")


def _select(server: str, query: str) -> list[dict[str, Any]]:
    url = f"{server}/query?{urllib.parse.urlencode({'query': query})}"
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        bindings: list[dict[str, Any]] = json.load(response)["results"]["bindings"]
    return bindings


def test_push_sends_the_graph_to_a_real_store(graph_file, oxigraph_server, capsys):
    kg = kgmed.load(graph_file)
    named = "urn:kgmed:cli-test"
    status, out, err = _run(capsys, "push", graph_file, oxigraph_server, "--graph", named)
    assert status == 0, err
    sent = int(re.search(r"sent ([\d,]+) triples", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert f"to graph <{named}>" in out
    count = _select(
        oxigraph_server, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{named}> {{ ?s ?p ?o }} }}"
    )
    assert int(count[0]["n"]["value"]) == sent == len(kg.to_rdf())
    rows = _select(
        oxigraph_server,
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
        f"SELECT ?l WHERE {{ GRAPH <{named}> {{ ?c skos:prefLabel ?l }} }}",
    )
    assert "influenza" in {row["l"]["value"] for row in rows}
    # Pushed again with --append, the store holds the same triples (a set);
    # --json reports what was sent.
    status, out, _ = _run(
        capsys, "push", graph_file, oxigraph_server, "--graph", named, "--append", "--json"
    )
    assert status == 0
    result = json.loads(out)
    assert result["triples"] == sent
    assert result["graph"] == named


def test_push_to_nothing_exits_1(graph_file, capsys):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status, _, err = _run(capsys, "push", graph_file, f"http://127.0.0.1:{port}", "--timeout", "5")
    assert status == 1
    _one_line_error(err, f"127.0.0.1:{port}")
    status, _, err = _run(capsys, "push", graph_file, "not a url")
    assert status == 1
    _one_line_error(err, "not a url")


def test_html_writes_a_page(graph_file, tmp_path, capsys):
    page = tmp_path / "flu.html"
    status, out, _ = _run(
        capsys, "html", graph_file, "--focus", "influenza", "--depth", "1", "--out", page
    )
    assert status == 0
    kg = kgmed.load(graph_file)
    expected = kgmed.viz.graph_page(kg, focus=["influenza"], depth=1)
    assert out.startswith(
        f"wrote {page}: {expected.n_nodes:,} of {expected.n_nodes_total:,} concepts, "
        f"{expected.n_edges:,} of {expected.n_edges_total:,} relations\n"
    )
    text = page.read_text(encoding="utf-8")
    assert "oseltamivir" in text
    status, out, _ = _run(
        capsys, "html", graph_file, "--max-nodes", "10", "--max-edges", "5", "--out", page, "--json"
    )
    counts = json.loads(out)
    assert counts["concepts"] == 10
    assert counts["relations"] == 5
    assert counts["concepts_total"] == len(kg.nodes())


def test_html_errors(graph_file, tmp_path, capsys):
    status, _, err = _run(
        capsys, "html", graph_file, "--focus", "nothing at all", "--out", tmp_path / "x.html"
    )
    assert status == 1
    _one_line_error(err, "no concept 'nothing at all'")
    status, _, err = _run(
        capsys, "html", graph_file, "--relation", "cures", "--out", tmp_path / "x.html"
    )
    assert status == 1
    _one_line_error(err, "cures")
    status, _, err = _run(capsys, "html", graph_file, "--max-nodes", "0")
    assert status == 2
    assert "--max-nodes" in err


# -- demo, help, version, plumbing ------------------------------------------------


def test_demo_runs_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    status, printed, err = _run(capsys, "demo", "--out", out)
    assert status == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([*BUILD_OUTPUTS, "patient.html", "paths.html", "records.csv"])
    # The demo's records are the bundled sample, byte for byte.
    assert (out / "records.csv").read_bytes() == SAMPLE.read_bytes()
    assert "$ kgmed query graph.json symptoms-of influenza" in printed
    assert "fever → influenza → oseltamivir" in printed
    assert "Most likely:\n  1. influenza" in printed
    assert f"Open {out / 'graph.html'} in a browser" in printed


def test_demo_json(tmp_path, capsys):
    status, printed, _ = _run(capsys, "demo", "--out", tmp_path, "--patients", "500", "--json")
    assert status == 0
    summary = json.loads(printed)
    assert summary["patients"] == 500
    assert summary["link"]["diagnoses"][0]["label"] == "influenza"
    assert summary["paths"][0]["labels"][0] == "fever"
    status, _, err = _run(capsys, "demo", "--patients", "5")
    assert status == 2
    assert "--patients" in err


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help_with_examples(command, capsys):
    status, out, _ = _run(capsys, command, "--help")
    assert status == 0
    assert out.startswith(f"Usage: kgmed {command} [OPTIONS]")
    assert "Examples:" in out
    assert f"kgmed {command} " in out.split("Examples:")[1]


def test_help_lists_every_subcommand(capsys):
    status, out, _ = _run(capsys, "--help")
    assert status == 0
    listed = re.findall(r"^  (\w+)\s{2,}", out.split("Commands:")[1], flags=re.MULTILINE)
    assert sorted(listed) == sorted(SUBCOMMANDS)
    assert "Exit status: 0" in out


def test_no_command_prints_help_and_exits_2(capsys):
    status, out, _ = _run(capsys)
    assert status == 2
    assert "Usage: kgmed [OPTIONS] COMMAND" in out


def test_version(capsys):
    for flag in ("--version", "-V"):
        status, out, _ = _run(capsys, flag)
        assert status == 0
        assert out.strip() == f"kgmed {kgmed.__version__}"


def test_tables_fit_the_terminal(graph_file, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    _, out, _ = _run(
        capsys, "query", graph_file, "treatments-for", "chronic obstructive pulmonary disease"
    )
    lines = out.splitlines()
    assert all(len(line) <= 60 for line in lines[1:]), out
    assert "…" in out or "left out to fit 60 columns" in out
    monkeypatch.setenv("COLUMNS", "200")
    _, wide, _ = _run(
        capsys, "query", graph_file, "treatments-for", "chronic obstructive pulmonary disease"
    )
    assert "left out" not in wide
    assert "weight" in wide.splitlines()[1]


def test_a_multi_line_error_is_one_line(capsys):
    from kgmed.cli import _error

    _error("first\n  second\n\nthird")
    assert capsys.readouterr().err == "kgmed: error: first second third\n"


def _console(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("kgmed")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "kgmed"]
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_readme_command_runs(tmp_path):
    # `pip install . && kgmed build examples/data/records.csv --out out/`,
    # through the console script when it is installed beside this Python.
    done = _console("build", "examples/data/records.csv", "--out", str(tmp_path / "out"), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("Records from records.csv\n")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == OUTPUTS


def test_exit_codes_reach_the_shell(tmp_path):
    assert _console("query", "missing.json", "symptoms-of", "flu", cwd=tmp_path).returncode == 1
    assert _console("query", cwd=tmp_path).returncode == 2
    done = subprocess.run(
        [sys.executable, "-m", "kgmed", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"kgmed {kgmed.__version__}"


def test_output_cut_short_by_a_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`kgmed build ... | head -1` ends quietly with status 0, no traceback."""
    command = [sys.executable, "-m", "kgmed", "build", str(SAMPLE), "--out", str(tmp_path)]
    command += ["--top", "100000"]  # more output than the pipe below holds
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    with subprocess.Popen(command, stdout=write_end, stderr=subprocess.PIPE) as process:
        os.close(write_end)
        with os.fdopen(read_end, "rb") as reader:
            first = reader.readline()
        # The reader is gone, as `| head -1` goes; the writer meets a broken pipe.
        assert process.stderr is not None
        error = process.stderr.read().decode()
        status = process.wait()
    assert first.startswith(b"Records from")
    assert "Traceback" not in error
    assert status == 0, error
