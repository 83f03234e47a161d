"""examples/cohorts_synthea.py runs on the real Synthea exports, as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "cohorts_synthea.py"


def _run(*args: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _ids(folder: Path) -> list[str]:
    patients = pd.read_csv(folder / "patients.csv", usecols=["Id", "FIRST", "LAST"], dtype=str)
    return [*patients["Id"], *patients["FIRST"], *patients["LAST"]]


@pytest.mark.shared_data
def test_segments_the_543_patient_export(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "synthea_csv_543_partial"
    out = _run(folder, "--out", tmp_path / "out", cwd=tmp_path)
    assert "<Cohorts: " in out
    assert "\nC1: " in out
    assert "on average: age " in out
    assert "Hypertension" in out
    assert "Risk of Diabetes (SNOMEDCT:44054006)" in out
    assert "Left out as recorded for Diabetes: insulin, metformin" in out
    written = [
        (tmp_path / "out" / "graph.ttl").read_text(encoding="utf-8"),
        (tmp_path / "out" / "graph.html").read_text(encoding="utf-8"),
    ]
    assert "kgmed:Cohort" in written[0]
    assert "cohort (diamond" in written[1]
    for name in _ids(folder):
        assert name not in out
        for text in written:
            assert name not in text


@pytest.mark.shared_data
def test_uses_body_mass_index_where_measured(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "synthea_csv_59_ca" / "csv"
    out = _run(
        folder,
        "--cohorts",
        "2",
        "--feature-weight",
        "1",
        "--target",
        "hypertension",
        "--out",
        tmp_path,
        cwd=tmp_path,
    )
    assert "2 cohorts of 59 patients" in out
    assert "and age, female, bmi (weight 1)" in out
    assert ", bmi " in out
    assert "Risk of Hypertension" in out
    for name in _ids(folder):
        assert name not in out


@pytest.mark.shared_data
def test_bad_arguments_exit_with_the_error(tmp_path: Path, shared_data: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), str(shared_data / "synthea_csv_59_ca"), "--cohorts", "9"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "ParameterError: too few patients for n_cohorts=9" in result.stderr
