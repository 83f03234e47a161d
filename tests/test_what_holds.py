"""Only what holds becomes an edge, on the bundled sample and on real Synthea exports.

Every mined edge of a default graph is positive and significant; age and sex
explain away what they cause; a situation such as "Suspected COVID-19" does
not take its confirmed diagnosis's symptoms.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kgmed

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "data" / "records.csv"
EXPORTS = ["synthea_csv_111_unmc", "synthea_csv_59_ca/csv", "synthea_csv_543_partial"]


def _mined_edges_hold(kg: kgmed.KnowledgeGraph) -> None:
    edges = kg.edges()
    mined = edges[edges["provenance"].str.split("; ").map(lambda parts: "mined" in parts)]
    assert len(mined) > 0
    assert (mined["q_value"] < kg.params["max_q_value"]).all()
    assert (mined["lift"] > 1).all()
    adjusted = mined[mined["adjusted_q_value"].notna()]
    assert (adjusted["adjusted_odds_ratio"] > 1).all()
    assert (adjusted["adjusted_q_value"] < kg.params["max_q_value"]).all()
    direct = mined[mined["relation"].isin(["has_symptom", "treated_with"])]
    assert direct["direct"].astype(bool).all()
    assert (direct["direct_weight"] >= kg.params["min_weight"]).all()
    assert mined["holds"].astype(bool).all()
    counts = kg.params["edges"]
    assert counts["kept"] == len(mined)
    assert counts["tested"] == counts["kept"] + sum(counts["dropped"].values())


def test_the_bundled_sample_keeps_only_what_holds() -> None:
    records = kgmed.read_records(SAMPLE, code="code", system="system", age="age", sex="sex")
    kg = kgmed.build(records)
    _mined_edges_hold(kg)
    assert kg.params["adjusted_for"] == ["age", "sex"]
    assert kg.params["edges"]["tested"] > 4 * kg.params["edges"]["kept"]


@pytest.fixture(scope="module")
def graphs(shared_data: Path) -> dict[str, kgmed.KnowledgeGraph]:
    return {name: kgmed.build(kgmed.read_synthea(shared_data / name)) for name in EXPORTS}


@pytest.mark.shared_data
@pytest.mark.parametrize("name", EXPORTS)
def test_each_synthea_export_keeps_only_what_holds(
    graphs: dict[str, kgmed.KnowledgeGraph], name: str
) -> None:
    kg = graphs[name]
    _mined_edges_hold(kg)
    assert kg.params["adjusted_for"] == ["age", "sex"]
    dropped = kg.params["edges"]["dropped"]
    assert dropped["not significant (q >= 0.05)"] > 0


def _labels(table) -> set[str]:
    return {label.casefold() for label in table["label"]}


@pytest.mark.shared_data
def test_hypertension_is_not_credited_with_what_age_brings(
    graphs: dict[str, kgmed.KnowledgeGraph], shared_data: Path
) -> None:
    kg = graphs["synthea_csv_543_partial"]
    treatments = _labels(kg.treatments_for("hypertension"))
    symptoms = _labels(kg.symptoms_of("hypertension"))
    assert {"lisinopril", "hydrochlorothiazide", "amlodipine"} <= treatments
    assert "oxycodone" not in treatments
    assert "chronic low back pain" not in symptoms
    assert "chronic neck pain" not in symptoms
    # The crude associations are there: old patients have both.
    crude = kgmed.build(
        kgmed.read_synthea(shared_data / "synthea_csv_543_partial"),
        keep="all",
        adjust_for=(),
        relations="association",
    )
    edge = crude.edges().set_index(["source_label", "target_label"])
    for target in ("oxycodone", "Chronic low back pain", "Chronic neck pain"):
        assert edge.loc[("Hypertension", target), "lift"] > 1.5
        assert edge.loc[("Hypertension", target), "q_value"] < 0.05


@pytest.mark.shared_data
def test_covid_19_has_its_symptoms_and_its_suspicion_none(
    graphs: dict[str, kgmed.KnowledgeGraph],
) -> None:
    kg = graphs["synthea_csv_543_partial"]
    symptoms = _labels(kg.symptoms_of("COVID-19"))
    assert {"fever", "cough", "loss of taste"} <= symptoms
    suspected = kg.resolve("Suspected COVID-19")
    assert kg.graph.nodes[suspected]["kind"] == "finding"
    relations = {key for _, _, key in kg.graph.out_edges(suspected, keys=True)}
    relations |= {key for _, _, key in kg.graph.in_edges(suspected, keys=True)}
    assert not relations & {"has_symptom", "treated_with"}


@pytest.mark.shared_data
def test_normal_pregnancy_is_treated_with_no_contraceptive(
    graphs: dict[str, kgmed.KnowledgeGraph],
) -> None:
    kg = graphs["synthea_csv_543_partial"]
    pregnancy = kg.resolve("Normal pregnancy")
    assert kg.graph.nodes[pregnancy]["kind"] == "finding"
    treated = [v for _, v, key in kg.graph.out_edges(pregnancy, keys=True) if key == "treated_with"]
    assert treated == []
    contraceptives = {"etonogestrel", "medroxyprogesterone", "levora", "errin", "mirena"}
    for disease in kg.nodes("disease")["id"]:
        assert not _labels(kg.treatments_for(disease)) & contraceptives, disease
