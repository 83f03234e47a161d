"""Shared fixtures: the third-party data sets and small records."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import kgmed

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KGMED_SHARED_DATA", ROOT.parent / "shared" / "data"))
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked shared_data need ../shared/data: skipped without it, but
    never under CI, where a missing folder is a failure."""
    if SHARED_DATA.is_dir():
        return
    marked = [item for item in items if item.get_closest_marker("shared_data")]
    if not marked:
        return
    if IN_CI:
        raise pytest.UsageError(
            f"CI is set but the shared data folder {SHARED_DATA} is missing; "
            f"{len(marked)} tests need it (set KGMED_SHARED_DATA)"
        )
    reason = f"third-party data not found at {SHARED_DATA} (set KGMED_SHARED_DATA)"
    for item in marked:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of third-party data sets."""
    return SHARED_DATA


@pytest.fixture(scope="session")
def disease_symptom_records(shared_data: Path) -> kgmed.Records:
    """The Kaggle disease/symptom table (4,920 rows) read as wide records."""
    frame = pd.read_csv(
        shared_data / "disease_symptom_prediction" / "kaggle_layout" / "dataset.csv"
    )
    return kgmed.Records.from_wide(frame, kinds={"disease": "Disease", "symptom": "Symptom_*"})


@pytest.fixture(scope="session")
def synthetic_records() -> kgmed.Records:
    """3,000 synthetic patients (seeded)."""
    return kgmed.datasets.synthetic(3000, random_state=0)


@pytest.fixture(scope="session")
def kg(synthetic_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    """A graph of the synthetic patients with the default parameters."""
    # Every association edge, so that queries meet every statistic (q-values
    # near 1, lift below 1); build's default keeps only direct relations.
    return kgmed.build(synthetic_records, relations="association")
