"""The kgmed command: kgmed build records.csv --out DIR."""

from __future__ import annotations

import csv
import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import kgmed
from kgmed.cli import main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "data" / "records.csv"
OUTPUTS = [
    "edges.csv",
    "graph.html",
    "graph.json",
    "graph.ttl",
    "nodes.csv",
    "report.txt",
    "rules.csv",
]


@pytest.fixture(scope="module")
def sample_kg() -> tuple[kgmed.Records, kgmed.KnowledgeGraph]:
    """The sample read and built as the command should, through the Python API."""
    records = kgmed.read_records(SAMPLE, code="code", system="system")
    return records, kgmed.build(records)


def test_build_writes_the_seven_files(tmp_path, capsys, sample_kg):
    out = tmp_path / "out"
    assert main(["build", str(SAMPLE), "--out", str(out)]) == 0
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
    assert (edges["leverage"] < 0).any()
    rules = pd.read_csv(out / "rules.csv")
    assert len(rules) == len(kg.rules)
    assert rules["antecedents"].iloc[0] == "; ".join(sorted(kg.rules["antecedents"].iloc[0]))
    assert (out / "report.txt").read_text(encoding="utf-8") == str(records.report) + "\n"
    printed = capsys.readouterr()
    assert printed.err == ""
    assert str(records.report) in printed.out
    assert repr(kg) in printed.out
    assert f"wrote {', '.join(OUTPUTS)} to {out}/" in printed.out


def test_the_summary_names_the_record_counts(tmp_path, capsys):
    raw = pd.read_csv(SAMPLE, dtype=str)
    assert main(["build", str(SAMPLE), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
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
    assert (
        main(["build", str(SAMPLE), "--out", str(tmp_path), "--min-patients", "200", "--top", "2"])
        == 0
    )
    out = capsys.readouterr().out
    assert "min_patients=200" in out
    assert "were left out (privacy floor)" in out
    kg = kgmed.load(tmp_path / "graph.json")
    assert kg.params["min_patients"] == 200
    assert int(kg.edges()["n_patients"].min()) >= 200
    section = out.split("strongest has_symptom")[1].split("\n\n")[0]
    # The heading's tail, the column names, and two rows.
    assert len(section.strip().splitlines()) == 1 + 1 + 2


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
    ],
)
def test_bad_input_exits_1_with_a_message(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is not None:
        _write(path, content)
    assert main(["build", str(path), "--out", str(tmp_path / "out")]) == 1
    printed = capsys.readouterr()
    assert printed.err.startswith("kgmed: error: ")
    assert message in printed.err
    assert "Traceback" not in printed.err
    assert not (tmp_path / "out").exists()


def test_bad_parameter_exits_1(tmp_path, capsys):
    assert main(["build", str(SAMPLE), "--out", str(tmp_path), "--min-support", "2"]) == 1
    assert "kgmed: error: min_support" in capsys.readouterr().err


def test_an_output_folder_that_is_a_file_exits_1(tmp_path, capsys):
    blocker = _write(tmp_path / "out", "not a folder")
    assert main(["build", str(SAMPLE), "--out", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("kgmed: error: ")
    assert "Traceback" not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"kgmed {kgmed.__version__}"


def test_no_command_prints_help_and_returns_2(capsys):
    assert main([]) == 2
    assert "usage: kgmed" in capsys.readouterr().out


def test_a_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["build"])
    assert info.value.code == 2
    assert "records" in capsys.readouterr().err


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


def test_the_readme_command_runs(tmp_path):
    # `pip install . && kgmed build examples/data/records.csv --out out/`,
    # through the console script when it is installed beside this Python.
    script = Path(sys.executable).with_name("kgmed")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "kgmed.cli"]
    done = subprocess.run(
        [*command, "build", "examples/data/records.csv", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("Records from records.csv\n")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == OUTPUTS


@pytest.mark.parametrize("top", ["0", "-3", "five"])
def test_top_must_be_a_positive_whole_number(top: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "records.csv", "--top", top])
    assert exit_info.value.code == 2
    assert "--top" in capsys.readouterr().err


def test_output_cut_short_by_a_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`kgmed build ... | head -1` ends quietly with status 0, no traceback."""
    sample = Path(__file__).resolve().parents[1] / "examples" / "data" / "records.csv"
    command = [sys.executable, "-m", "kgmed.cli", "build", str(sample), "--out", str(tmp_path)]
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
