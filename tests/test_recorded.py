"""Recorded reasons become treated_with edges with provenance 'recorded'."""

from __future__ import annotations

import pandas as pd
import pytest

import kgmed

PNEUMONIA = "SNOMEDCT:233604007"


def _records(n_with_reason: int, n_without: int = 0, n_other: int = 30) -> kgmed.Records:
    rows = []
    for i in range(n_with_reason):
        rows.append((f"r{i}", "pneumonia", "disease", "233604007", "SNOMEDCT", None))
        rows.append((f"r{i}", "amoxicillin", "treatment", None, None, PNEUMONIA))
    for i in range(n_without):
        rows.append((f"s{i}", "pneumonia", "disease", "233604007", "SNOMEDCT", None))
        rows.append((f"s{i}", "amoxicillin", "treatment", None, None, None))
    for i in range(n_other):
        rows.append((f"o{i}", "asthma", "disease", None, None, None))
        rows.append(
            (f"o{i}", "albuterol" if i % 2 else "amoxicillin", "treatment", None, None, None)
        )
    frame = pd.DataFrame(rows, columns=["patient_id", "concept", "kind", "code", "system", "why"])
    return kgmed.Records.from_dataframe(frame, code="code", system="system", reason="why")


def test_recorded_reasons_count_distinct_patients() -> None:
    table = kgmed.recorded_reasons(_records(12))
    assert table.to_dict("records") == [
        {"source": PNEUMONIA, "target": "local:amoxicillin", "n_recorded": 12}
    ]


def test_recorded_reasons_join_the_mined_edge() -> None:
    kg = kgmed.build(_records(12, n_without=3), min_confidence=0.0)
    edge = (
        kg.edges("treated_with")
        .set_index(["source", "target"])
        .loc[(PNEUMONIA, "local:amoxicillin")]
    )
    assert edge["provenance"] == "mined; recorded"
    assert edge["n_recorded"] == 12
    assert edge["n_patients"] == 15  # mined: every pneumonia patient took it
    assert kg.treatments_for("pneumonia").loc[0, "source"] == "mined; recorded"


def test_a_recorded_reason_without_a_mined_edge_stands_alone() -> None:
    # min_support too high for mining to keep the pair; the recorded fact stays.
    kg = kgmed.build(_records(12), min_support=0.9, min_confidence=0.0)
    edge = kg.edges("treated_with").iloc[0]
    assert (edge["source"], edge["target"], edge["provenance"]) == (
        PNEUMONIA,
        "local:amoxicillin",
        "recorded",
    )
    assert edge["n_recorded"] == 12
    assert pd.isna(edge["lift"])


def test_recorded_reasons_below_the_floor_are_suppressed() -> None:
    kg = kgmed.build(_records(8, n_without=6), min_confidence=0.0)
    edges = kg.edges("treated_with")
    assert not edges["provenance"].str.contains("recorded").any()
    lowered = kgmed.build(_records(8, n_without=6), min_confidence=0.0, min_patients=5)
    assert lowered.edges("treated_with")["provenance"].str.contains("recorded").any()


def test_a_reason_must_be_a_concept_id() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["p1"],
            "concept": ["amoxicillin"],
            "kind": "treatment",
            "why": ["pneumonia"],
        }
    )
    with pytest.raises(kgmed.RecordsError, match="a reason is the concept id"):
        kgmed.Records.from_dataframe(frame, reason="why")


def test_kept_columns_stay_beside_the_canonical_ones() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["p1", "p2"],
            "concept": ["hba1c high", "hba1c high"],
            "kind": "finding",
            "value": [7.1, 8.4],
            "unit": ["%", "%"],
        }
    )
    records = kgmed.Records.from_dataframe(frame, keep=["value", "unit"])
    assert list(records.data.columns[-2:]) == ["value", "unit"]
    assert records.data["value"].tolist() == [7.1, 8.4]
    with pytest.raises(kgmed.RecordsError, match="keep= names"):
        kgmed.Records.from_dataframe(frame.assign(label="x"), keep=["label"])
