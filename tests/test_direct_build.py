"""build(relations=...) annotates and filters disease relations by their direct weight."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import kgmed


@pytest.fixture(scope="module")
def records_and_truth() -> tuple[kgmed.Records, set[tuple[str, str]]]:
    records, model = kgmed.datasets.synthetic(15000, random_state=5, return_truth=True)
    concepts = records.concepts()
    ids = dict(zip(concepts["label"], concepts["concept_id"], strict=True))
    truth = model.direct_edges()
    true = {(ids[s], ids[t]) for s, t in zip(truth["source"], truth["target"], strict=True)}
    return records, true


def _pairs(edges: pd.DataFrame) -> set[tuple[str, str]]:
    edges = edges[edges["relation"].isin(["has_symptom", "treated_with"])]
    return set(zip(edges["source"], edges["target"], strict=True))


def test_association_mode_has_no_direct_columns_filled(
    records_and_truth: tuple[kgmed.Records, set[tuple[str, str]]],
) -> None:
    records, _ = records_and_truth
    edges = kgmed.build(records, relations="association").edges()
    assert edges["direct_weight"].isna().all()
    assert edges["direct"].isna().all()


def test_annotated_mode_keeps_every_edge_and_flags_the_true_ones(
    records_and_truth: tuple[kgmed.Records, set[tuple[str, str]]],
) -> None:
    records, true = records_and_truth
    plain = kgmed.build(records, relations="association", keep="all").edges()
    annotated = kgmed.build(records, relations="annotated", keep="all").edges()
    assert _pairs(annotated) == _pairs(plain)
    disease_edges = annotated[annotated["relation"].isin(["has_symptom", "treated_with"])]
    assert disease_edges["direct"].notna().all()
    flagged = _pairs(disease_edges[disease_edges["direct"].astype(bool)])
    assert flagged == true
    other = annotated[~annotated["relation"].isin(["has_symptom", "treated_with"])]
    assert other["direct"].isna().all()


def test_direct_mode_keeps_only_the_edges_that_hold_up(
    records_and_truth: tuple[kgmed.Records, set[tuple[str, str]]],
) -> None:
    records, true = records_and_truth
    kg = kgmed.build(records, relations="direct")
    assert _pairs(kg.edges()) == true
    assert kg.params["relations"] == "direct"
    dropped = kg.params["edges"]["dropped"]
    assert dropped["not direct (explained by another disease)"] > 20
    # The association statistics stay beside the direct weight.
    edge = kg.edges("has_symptom").iloc[0]
    assert edge["lift"] > 1
    assert 0 < edge["direct_weight"] <= 1
    # Comorbidity-driven links are gone from the questions too.
    assert set(kg.treatments_for("hypertension")["label"]) == {"lisinopril", "amlodipine"}


def test_recorded_and_curated_edges_stay_in_direct_mode() -> None:
    records = kgmed.datasets.synthetic(3000, random_state=0)
    kg = kgmed.build(records, relations="direct")
    kg.add_knowledge(
        pd.DataFrame({"subject": ["influenza"], "relation": ["has_symptom"], "object": ["rash"]}),
        source="textbook",
    )
    assert "rash" in set(kg.symptoms_of("influenza")["label"])


def test_direct_annotations_round_trip(tmp_path: Path) -> None:
    kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0), relations="annotated")
    back = kgmed.load(kg.save(tmp_path / "kg.json"))
    pd.testing.assert_frame_equal(back.edges(), kg.edges())


@pytest.mark.parametrize(
    ("options", "message"),
    [({"relations": "causal"}, "relations"), ({"direct_alpha": 0}, "direct_alpha")],
)
@pytest.mark.filterwarnings("ignore:build\\(direct_alpha=\\) is deprecated:DeprecationWarning")
def test_bad_relation_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(kgmed.ParameterError, match=message):
        kgmed.build(kgmed.datasets.synthetic(100, random_state=0), **options)


def test_weights_under_the_floor_are_not_material(
    records_and_truth: tuple[kgmed.Records, set[tuple[str, str]]],
) -> None:
    records, true = records_and_truth
    every = kgmed.build(records, relations="annotated", keep="all", min_weight=0.0).edges()
    disease = every[every["relation"].isin(["has_symptom", "treated_with"])]
    strict = kgmed.build(records, min_weight=0.3)
    edges = strict.edges()
    kept = edges[edges["relation"].isin(["has_symptom", "treated_with"])]
    assert (kept["direct_weight"] >= 0.3).all()
    significant = disease[disease["direct_q_value"] < 0.05]
    light = significant[significant["direct_weight"] < 0.3]
    assert len(light) > 0
    assert not _pairs(light) & _pairs(kept)
    assert strict.params["edges"]["dropped"]["not material (direct weight < 0.3)"] > 0
    assert _pairs(kept) <= true
