"""Privacy: no patient id leaves, and nothing below min_patients is shown."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd
import pytest

import kgmed
from kgmed.cli import BUILD_OUTPUTS, main

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "data" / "records.csv"
OUTPUTS = sorted(BUILD_OUTPUTS)


def ids_in(text: str, ids: set[str]) -> set[str]:
    """The patient ids that appear in ``text`` as whole tokens.

    Ids are letters and digits, so a token is a maximal run of those: 'P0001'
    is found in '"P0001"' or 'P0001;' but not in 'HP:00012' or 'P00012'.
    """
    assert all(re.fullmatch(r"[A-Za-z0-9]+", i) for i in ids)
    return set(re.findall(r"[A-Za-z0-9]+", text)) & ids


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


def test_the_id_check_finds_ids_and_only_ids():
    ids = {"P0001", "P0042", "P3000"}
    assert ids_in('{"id": "P0042", "x": [P3000]}', ids) == {"P0042", "P3000"}
    assert ids_in("HP:0001945 P00012 XP0001 P0001x", ids) == set()


def test_no_patient_id_in_the_graph_or_its_file(kg, synthetic_records, tmp_path):
    ids = set(synthetic_records.data["patient_id"])
    assert len(ids) == 3000
    for table in (kg.nodes(), kg.edges(), kg.rules):
        assert ids_in(table.to_csv(), ids) == set()
    for name in ("graph.json", "graph.json.gz"):
        text = read_text(kg.save(tmp_path / name))
        assert ids_in(text, ids) == set()
        # The check would see an id that slipped in.
        leaked = text.replace('"kind": "disease"', '"kind": "disease", "seen_in": "P0042"', 1)
        assert ids_in(leaked, ids) == {"P0042"}


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample") / "out"
    assert main(["build", str(SAMPLE), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def sample_ids() -> set[str]:
    return set(pd.read_csv(SAMPLE, dtype=str)["patient_id"])


@pytest.mark.parametrize("name", OUTPUTS)
def test_no_patient_id_in_the_command_output(sample_out, sample_ids, name):
    assert len(sample_ids) == 3000
    assert sorted(p.name for p in sample_out.iterdir()) == OUTPUTS
    assert ids_in(read_text(sample_out / name), sample_ids) == set()


def _check_floor(kg: kgmed.KnowledgeGraph, floor: int) -> None:
    nodes, edges = kg.nodes(), kg.edges()
    assert int(nodes["n_patients"].min()) >= floor
    counted = edges["n_patients"].dropna()
    assert len(counted) > 0
    assert int(counted.min()) >= floor
    assert int(edges[["n_source", "n_target"]].min().min()) >= floor
    assert int(kg.rules["n_both"].min()) >= floor


@pytest.fixture(scope="module")
def small_records() -> kgmed.Records:
    """Few enough patients that many concepts and pairs are rare."""
    return kgmed.datasets.synthetic(300, random_state=1)


@pytest.mark.parametrize("floor", [5, 11, 25])
def test_nothing_below_the_floor_is_shown(small_records, floor):
    kg = kgmed.build(small_records, min_patients=floor, max_len=3, rule_nodes=True)
    _check_floor(kg, floor)
    per_concept = small_records.data.groupby("concept_id")["patient_id"].nunique()
    shown = set(kg.nodes().query("kind != 'rule'")["id"])
    assert shown == set(per_concept.index[per_concept >= floor])
    assert kg.params["n_concepts_suppressed"] == int((per_concept < floor).sum()) > 0
    rule_nodes = kg.nodes("rule")
    assert len(rule_nodes) > 0
    assert int(rule_nodes["n_patients"].min()) >= floor


def test_lowering_the_floor_on_purpose_shows_small_counts(small_records):
    loose = kgmed.build(small_records, min_patients=1)
    assert int(loose.nodes()["n_patients"].min()) < 11
    assert int(loose.edges()["n_patients"].min()) < 11
    assert loose.params["n_concepts_suppressed"] == 0
    strict = kgmed.build(small_records)
    assert len(strict) < len(loose)
    assert strict.graph.number_of_edges() < loose.graph.number_of_edges()


def test_the_sample_output_respects_the_floor(sample_out):
    nodes = pd.read_csv(sample_out / "nodes.csv")
    edges = pd.read_csv(sample_out / "edges.csv")
    rules = pd.read_csv(sample_out / "rules.csv")
    assert nodes["n_patients"].min() >= 11
    assert edges["n_patients"].min() >= 11
    assert rules["n_both"].min() >= 11


# -- the Kaggle disease/symptom table ------------------------------------------------


@pytest.fixture(scope="module")
def kaggle_cases(shared_data: Path) -> pd.DataFrame:
    """The table's distinct rows, each a case with an id, in the long layout."""
    wide = pd.read_csv(shared_data / "disease_symptom_prediction" / "kaggle_layout" / "dataset.csv")
    wide = wide.drop_duplicates().reset_index(drop=True)
    wide.insert(0, "case", [f"KC{i:05d}" for i in range(len(wide))])
    records = kgmed.Records.from_wide(
        wide, kinds={"disease": "Disease", "symptom": "Symptom_*"}, patient="case"
    )
    return records.data[["patient_id", "label", "kind"]].rename(columns={"label": "concept"})


@pytest.mark.shared_data
def test_kaggle_cases_leave_no_id_and_no_small_count(kaggle_cases, tmp_path, capsys):
    assert kaggle_cases["patient_id"].nunique() == 304
    path = tmp_path / "cases.csv"
    kaggle_cases.to_csv(path, index=False)
    assert main(["build", str(path), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    ids = set(kaggle_cases["patient_id"])
    assert ids_in(printed, ids) == set()
    for name in OUTPUTS:
        assert ids_in(read_text(tmp_path / "out" / name), ids) == set(), name
    kg = kgmed.load(tmp_path / "out" / "graph.json")
    _check_floor(kg, 11)
    suppressed = kg.params["n_concepts_suppressed"]
    assert suppressed > 0
    assert f"{suppressed} concept(s) held by fewer than 11 patients were left out" in printed


@pytest.mark.shared_data
def test_kaggle_cases_with_the_floor_lowered(kaggle_cases):
    records = kgmed.Records.from_dataframe(kaggle_cases)
    strict, loose = kgmed.build(records), kgmed.build(records, min_patients=1)
    _check_floor(strict, 11)
    assert int(loose.edges()["n_patients"].min()) < 11
    assert int(loose.nodes()["n_patients"].min()) < 11
    assert strict.graph.number_of_edges() < loose.graph.number_of_edges()


@pytest.mark.shared_data
def test_the_full_kaggle_table_keeps_no_row_name(disease_symptom_records, tmp_path):
    # Rows without a patient column are named 'row:<n>' inside Records only.
    kg = kgmed.build(disease_symptom_records)
    text = read_text(kg.save(tmp_path / "graph.json"))
    assert "row:" not in text
    assert "row:1" in set(disease_symptom_records.data["patient_id"])
