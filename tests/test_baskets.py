"""Co-occurrence per encounter, and the privacy floor on distinct patients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kgmed
from kgmed.mining import pair_counts, transactions


@pytest.fixture
def visits() -> pd.DataFrame:
    # p1: flu and fever at visit a, flu alone at b; p2: flu at c, fever at d;
    # p3: flu and fever at e.
    return pd.DataFrame(
        {
            "patient_id": ["p1", "p1", "p1", "p2", "p2", "p3", "p3"],
            "visit": ["a", "a", "b", "c", "d", "e", "e"],
            "concept": ["flu", "fever", "flu", "flu", "fever", "flu", "fever"],
            "kind": ["disease", "symptom", "disease", "disease", "symptom", "disease", "symptom"],
        }
    )


def test_encounter_baskets_count_co_occurrence_within_a_visit(visits: pd.DataFrame) -> None:
    records = kgmed.Records.from_dataframe(visits, encounter="visit", basket="encounter")
    per_visit = pair_counts(transactions(records), min_support=0.01)
    per_patient = pair_counts(transactions(records, basket="patient"), min_support=0.01)
    # Visits: a, b, c, d, e; both at a and e. Patients: all three have both.
    assert (per_visit.n_total, int(per_visit.n_both[0]), int(per_visit.n_patients[0])) == (5, 2, 2)
    assert (per_patient.n_total, int(per_patient.n_both[0])) == (3, 3)


def test_encounter_ids_are_scoped_to_their_patient(visits: pd.DataFrame) -> None:
    # Two patients may both have a visit called "a": they are two baskets.
    same_names = visits.assign(visit="a")
    records = kgmed.Records.from_dataframe(same_names, encounter="visit", basket="encounter")
    assert transactions(records).n_baskets == 3


def test_encounter_basket_needs_an_encounter_column(visits: pd.DataFrame) -> None:
    with pytest.raises(kgmed.RecordsError, match="pass encounter="):
        kgmed.Records.from_dataframe(visits, basket="encounter")
    with pytest.raises(kgmed.ParameterError, match="basket"):
        kgmed.Records.from_dataframe(visits, encounter="visit", basket="visit")


def test_encounter_basket_refuses_observations_without_encounter(visits: pd.DataFrame) -> None:
    records = kgmed.Records.from_dataframe(visits.assign(visit=[None, *visits["visit"][1:]]))
    with pytest.raises(kgmed.MissingValueError, match="encounter id"):
        transactions(records, basket="encounter")


def _one_patient_many_visits(n_visits: int, n_others: int) -> pd.DataFrame:
    """One patient with x and y at each of n visits; others with x or y alone."""
    rows = [("p0", f"v{i}", concept) for i in range(n_visits) for concept in ("x", "y")]
    rows += [(f"q{i}", f"w{i}", "x" if i % 2 else "y") for i in range(n_others)]
    frame = pd.DataFrame(rows, columns=["patient_id", "visit", "concept"])
    return frame.assign(kind="finding")


@pytest.mark.parametrize("algorithm", ["pairs", "fpgrowth", "apriori"])
def test_the_floor_counts_patients_not_visits(algorithm: str) -> None:
    frame = _one_patient_many_visits(n_visits=20, n_others=40)
    records = kgmed.Records.from_dataframe(frame, encounter="visit", basket="encounter")
    options = {"min_support": 0.01, "min_confidence": 0.0, "algorithm": algorithm}
    # Twenty visits of one patient: 20 baskets, 1 patient.
    rules = kgmed.mine_rules(records, min_patients=1, **options)
    assert set(rules["n_both"]) == {20}
    assert set(rules["n_patients"]) == {1}
    assert len(kgmed.mine_rules(records, min_patients=2, **options)) == 0


def test_the_three_miners_agree_per_encounter() -> None:
    records = kgmed.datasets.synthetic(1500, random_state=3)
    frame = records.data.assign(visit=np.where(np.arange(len(records.data)) % 3 == 0, "a", "b"))
    # A third of the patients come back: the same concepts again at visit "c".
    again = frame[frame["patient_id"].isin(frame["patient_id"].unique()[::3])]
    frame = pd.concat([frame, again.assign(visit="c")], ignore_index=True)
    per_visit = kgmed.Records.from_dataframe(
        frame.rename(columns={"label": "concept"}),
        encounter="visit",
        basket="encounter",
    )
    options = {"min_support": 0.01, "min_confidence": 0.1, "min_patients": 11}
    pairs = kgmed.mine_rules(per_visit, algorithm="pairs", **options)
    for algorithm in ("fpgrowth", "apriori"):
        other = kgmed.mine_rules(per_visit, algorithm=algorithm, **options)
        pd.testing.assert_frame_equal(other, pairs, check_exact=False, rtol=1e-12)
    assert (pairs["n_patients"] <= pairs["n_both"]).all()
    assert (pairs["n_patients"] < pairs["n_both"]).any()


def test_graph_edges_per_encounter_carry_both_counts(visits: pd.DataFrame) -> None:
    records = kgmed.Records.from_dataframe(visits, encounter="visit", basket="encounter")
    kg = kgmed.build(
        records, min_patients=1, min_confidence=0.0, relations="association", keep="all"
    )
    edge = kg.edges("has_symptom").iloc[0]
    assert (int(edge["n_both"]), int(edge["n_patients"]), int(edge["n_total"])) == (2, 2, 5)
    assert kg.params["basket"] == "encounter"
    assert kg.params["n_patients"] == 3
    assert kg.params["n_baskets"] == 5
