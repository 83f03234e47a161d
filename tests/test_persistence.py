"""save and load: a graph comes back exactly, and bad files are told apart."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import kgmed


def same_value(a: object, b: object) -> bool:
    """Of one type and equal, NaN equal to NaN (an int must not come back a float)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def assert_same_attrs(a: dict, b: dict, where: object) -> None:
    assert list(a) == list(b), where
    for key in a:
        assert same_value(a[key], b[key]), (where, key, a[key], b[key])


def assert_same_graph(kg: kgmed.KnowledgeGraph, back: kgmed.KnowledgeGraph) -> None:
    pd.testing.assert_frame_equal(back.nodes(), kg.nodes())
    pd.testing.assert_frame_equal(back.edges(), kg.edges())
    pd.testing.assert_frame_equal(back.rules, kg.rules)
    for column in ("antecedents", "consequents"):
        assert all(isinstance(items, frozenset) for items in back.rules[column])
    assert back.params == kg.params
    assert list(back.graph.nodes) == list(kg.graph.nodes)
    for node, attrs in kg.graph.nodes(data=True):
        assert_same_attrs(attrs, back.graph.nodes[node], node)
    assert list(back.graph.edges(keys=True)) == list(kg.graph.edges(keys=True))
    for u, v, key, attrs in kg.graph.edges(keys=True, data=True):
        assert_same_attrs(attrs, back.graph.edges[u, v, key], (u, v, key))
    assert repr(back) == repr(kg)


@pytest.fixture(scope="module")
def rich_kg(synthetic_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    """Rule nodes, curated edges and concepts, inf conviction and NaN statistics."""
    kg = kgmed.build(synthetic_records, max_len=3, min_support=0.02, rule_nodes=True)
    facts = pd.DataFrame(
        {
            "subject": ["influenza", "influenza", "oseltamivir", "Zanamivir"],
            "relation": ["has_symptom", "has_symptom", "treats", "treats"],
            "object": ["fever", "Conjunctivitis", "influenza", "influenza"],
            "source": ["textbook", "textbook", "hetionet", "hetionet"],
        }
    )
    kg.add_knowledge(facts)
    return kg


@pytest.mark.parametrize("name", ["graph.json", "graph.json.gz"])
def test_a_mined_graph_comes_back_exactly(kg, tmp_path, name):
    path = kg.save(tmp_path / name)
    assert path == tmp_path / name
    assert_same_graph(kg, kgmed.load(path))


@pytest.mark.parametrize("name", ["graph.json", "graph.json.gz"])
def test_a_graph_with_rule_nodes_and_curated_edges_comes_back(rich_kg, tmp_path, name):
    assert np.isinf(rich_kg.rules["conviction"]).any()
    assert "rule" in set(rich_kg.nodes()["kind"])
    provenance = set(rich_kg.edges()["provenance"])
    assert {"curated:textbook", "mined; curated:textbook", "curated:hetionet"} <= provenance
    assert rich_kg.edges()["lift"].isna().any()
    back = kgmed.load(rich_kg.save(tmp_path / name))
    assert_same_graph(rich_kg, back)
    assert np.isinf(back.rules["conviction"]).sum() == np.isinf(rich_kg.rules["conviction"]).sum()
    pd.testing.assert_frame_equal(
        back.treatments_for("influenza"), rich_kg.treatments_for("influenza")
    )


def test_rules_of_a_user_with_nan_come_back(kg, tmp_path):
    rules = kg.rules.copy()
    rules.loc[0, "zhangs_metric"] = np.nan
    rules.loc[1, "conviction"] = np.inf
    own = kgmed.KnowledgeGraph(kg.graph, rules, params={"note": "hand-made", "n": 3})
    back = kgmed.load(own.save(tmp_path / "own.json"))
    pd.testing.assert_frame_equal(back.rules, rules)
    assert math.isnan(back.rules.loc[0, "zhangs_metric"])
    assert back.params == {"note": "hand-made", "n": 3}


def test_an_empty_graph_comes_back(tmp_path):
    empty = kgmed.KnowledgeGraph()
    back = kgmed.load(empty.save(tmp_path / "empty.json"))
    assert len(back) == 0
    assert back.graph.number_of_edges() == 0
    assert back.rules.columns.tolist() == empty.rules.columns.tolist()
    assert len(back.rules) == 0


def test_the_files_are_json_and_gzip(kg, tmp_path):
    plain = kg.save(tmp_path / "graph.json")
    packed = kg.save(tmp_path / "graph.json.gz")
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    document = json.loads(plain.read_text(encoding="utf-8"))
    assert json.loads(gzip.decompress(packed.read_bytes())) == document
    assert document["format"] == "kgmed-graph"
    assert document["format_version"] == 1
    assert document["kgmed_version"] == kgmed.__version__
    assert len(document["nodes"]) == len(kg)
    assert len(document["edges"]) == kg.graph.number_of_edges()
    assert len(plain.read_bytes()) > 3 * len(packed.read_bytes())


def test_saving_twice_writes_the_same_bytes(kg, tmp_path):
    first = kg.save(tmp_path / "a.json.gz").read_bytes()
    second = kg.save(tmp_path / "b.json.gz").read_bytes()
    assert first == second


def test_save_accepts_a_string_path(kg, tmp_path):
    path = kg.save(str(tmp_path / "graph.json"))
    assert isinstance(path, Path)
    assert kgmed.load(str(path)).edges().equals(kg.edges())


def _write(path: Path, content: object) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(json.dumps(content) if not isinstance(content, str) else content)
    return path


BAD_FILES = {
    "not json": ("patient_id,concept,kind\np1,flu,disease\n", "not a saved kgmed graph"),
    "binary": (b"\x00\x01\x02\xff\xfe", "not a saved kgmed graph"),
    "broken gzip": (b"\x1f\x8b\x08\x00garbage", "not a saved kgmed graph"),
    "empty": ("", "not a saved kgmed graph"),
    "a list": ([1, 2, 3], "no 'format'"),
    "no format": ({"format_version": 1, "nodes": [], "edges": [], "rules": {}}, "no 'format'"),
    "other format": ({"format": "networkx", "format_version": 1}, "no 'format'"),
    "newer": (
        {"format": "kgmed-graph", "format_version": 2, "nodes": [], "edges": [], "rules": {}},
        "newer kgmed",
    ),
    "version as text": ({"format": "kgmed-graph", "format_version": "1"}, "format_version"),
    "no version": ({"format": "kgmed-graph", "nodes": []}, "format_version"),
    "no nodes": ({"format": "kgmed-graph", "format_version": 1}, "damaged"),
    "bad node": (
        {"format": "kgmed-graph", "format_version": 1, "nodes": [{"label": "x"}], "edges": []},
        "damaged",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_file_that_is_not_a_saved_graph(tmp_path, case):
    content, message = BAD_FILES[case]
    path = _write(tmp_path / "graph.json", content)
    with pytest.raises(kgmed.GraphFileError, match=message) as info:
        kgmed.load(path)
    assert str(info.value).startswith("graph.json: ")
    assert isinstance(info.value, (kgmed.KgmedError, ValueError))


def test_a_missing_file(tmp_path):
    with pytest.raises(kgmed.GraphFileError, match="no such file"):
        kgmed.load(tmp_path / "nowhere.json")
    with pytest.raises(kgmed.GraphFileError, match="no such file"):
        kgmed.load(tmp_path)


def test_a_gzip_file_is_read_whatever_its_name(kg, tmp_path):
    packed = kg.save(tmp_path / "graph.json.gz")
    renamed = packed.rename(tmp_path / "graph.kg")
    assert kgmed.load(renamed).edges().equals(kg.edges())


def test_saved_file_is_strict_json(tmp_path: Path) -> None:
    """NaN and infinity are written as strings, so any JSON parser reads the file."""
    records = kgmed.datasets.synthetic(3000, random_state=0)
    graph = kgmed.build(records, max_len=3, min_support=0.01, rule_nodes=True)
    graph.add_knowledge(
        pd.DataFrame({"subject": ["influenza"], "relation": ["has_symptom"], "object": ["rash"]}),
        source="textbook",
    )
    assert np.isinf(graph.rules["conviction"]).any()
    path = graph.save(tmp_path / "kg.json")

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-standard JSON constant {constant}")

    document = json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)
    curated = [e for e in document["edges"] if e["provenance"] == "curated:textbook"]
    assert curated
    assert curated[0]["lift"] == "NaN"
    assert "Infinity" in {
        row[document["rules"]["columns"].index("conviction")] for row in document["rules"]["data"]
    }
    back = kgmed.load(path)
    assert np.isnan(back.edges().set_index("provenance").loc["curated:textbook", "lift"])
    pd.testing.assert_frame_equal(back.rules, graph.rules)
