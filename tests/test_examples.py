"""The example scripts run as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_builds_and_saves(tmp_path: Path) -> None:
    out = _run(ROOT / "examples" / "quickstart.py", "--out", tmp_path / "out", cwd=tmp_path)
    assert "3,000 patients" in out
    assert "oseltamivir" not in out.split("heart failure")[1].split("loss of smell")[0]
    assert (tmp_path / "out" / "graph.json").is_file()


@pytest.mark.shared_data
def test_kaggle_example_reads_the_real_table(tmp_path: Path, shared_data: Path) -> None:
    dataset = shared_data / "disease_symptom_prediction" / "kaggle_layout" / "dataset.csv"
    out = _run(ROOT / "examples" / "kaggle_disease_symptom.py", dataset, cwd=tmp_path)
    assert "41 disease, 131 symptom" in out
    assert "polyuria" in out


def test_sample_records_are_what_the_generator_writes(tmp_path: Path) -> None:
    """examples/data/records.csv is reproducible from its script."""
    import kgmed

    frame = kgmed.datasets.synthetic(3000, random_state=2026, messy=True, as_frame=True)
    path = tmp_path / "records.csv"
    frame.to_csv(path, index=False)
    bundled = (ROOT / "examples" / "data" / "records.csv").read_bytes()
    assert path.read_bytes() == bundled


@pytest.mark.shared_data
def test_curated_knowledge_example(tmp_path: Path, shared_data: Path) -> None:
    out = _run(
        ROOT / "examples" / "curated_knowledge.py",
        shared_data / "hetionet_v1.0_subset",
        shared_data / "columbia_disease_symptom_kb" / "disease_symptom_long.csv",
        "--patients",
        "3000",
        cwd=tmp_path,
    )
    assert "hypertension is ICD10CM:I10, also known as ['DOID:10763']" in out
    assert "lisinopril" in out
