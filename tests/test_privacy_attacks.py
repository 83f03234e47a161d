"""Try to recover a patient from what kgmed exports, and fail.

Each attack plants something identifying in the records (a rare disease of
five patients, a rare combination in a longer rule, long patient and
encounter ids, the dates of visits) and looks for it in every export: the
JSON file, RDF in four syntaxes, KGX, the HTML page, the command's files
and the privacy audit. Each also shows that the search would find what it
looks for, so that a pass means something.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import kgmed
from kgmed.cli import BUILD_OUTPUTS, main

RARE_DISEASE = "zebra syndrome of the left ear"
RARE_DRUG = "orphanimab"


def _exports(kg: kgmed.KnowledgeGraph, folder: Path) -> dict[str, str]:
    """Every file kgmed can write for ``kg``, by name, as text."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [kg.save(folder / name) for name in ("g.json", "g.ttl", "g.nt", "g.jsonld", "g.rdf")]
    paths.append(kg.to_html(folder / "g.html"))
    kg.to_kgx(folder / "kgx")
    paths += sorted((folder / "kgx").iterdir())
    return {path.name: path.read_text(encoding="utf-8") for path in paths}


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    """3,000 synthetic patients with long ids, encounters and dates, and five with a rare disease."""
    frame = kgmed.datasets.synthetic(3000, random_state=8, as_frame=True)
    frame["patient_id"] = "patient-" + frame["patient_id"].astype(str) + "-7f3a9c"
    codes, _ = pd.factorize(frame["patient_id"])
    frame["encounter_id"] = [f"enc-{c:05d}-b41e" for c in codes]
    frame["time"] = [f"2019-{1 + c % 12:02d}-{1 + c % 28:02d}" for c in codes]
    rare = pd.DataFrame(
        [
            (f"patient-rare{i}-7f3a9c", label, kind, None, None, f"enc-rare{i}-b41e", "2021-02-03")
            for i in range(5)
            for label, kind in [
                (RARE_DISEASE, "disease"),
                (RARE_DRUG, "treatment"),
                ("fever", "symptom"),
            ]
        ],
        columns=["patient_id", "concept", "kind", "code", "system", "encounter_id", "time"],
    )
    return pd.concat([frame, rare], ignore_index=True)


@pytest.fixture(scope="module")
def planted_records(planted: pd.DataFrame) -> kgmed.Records:
    return kgmed.Records.from_dataframe(
        planted, code="code", system="system", encounter="encounter_id", time="time"
    )


@pytest.fixture(scope="module")
def planted_kg(planted_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    return kgmed.build(planted_records, max_len=3)


def test_a_rare_disease_leaves_no_trace(planted_records, planted_kg, tmp_path) -> None:
    exports = _exports(planted_kg, tmp_path)
    assert len(exports) == 8
    for name, text in exports.items():
        assert RARE_DISEASE not in text.lower(), name
        assert RARE_DRUG not in text.lower(), name
    # At a floor of 5, the same search finds it.
    loose = kgmed.build(planted_records, min_patients=5, max_len=3)
    assert any(
        RARE_DISEASE in text.lower() for text in _exports(loose, tmp_path / "loose").values()
    )


def test_ids_and_dates_never_leave(planted, planted_records, planted_kg, tmp_path) -> None:
    ids = set(planted["patient_id"]) | set(planted["encounter_id"])
    dates = set(planted["time"])
    exports = _exports(planted_kg, tmp_path)
    for name, text in exports.items():
        tokens = set(re.findall(r"[\w-]+", text))
        assert not tokens & ids, name
        assert not set(re.findall(r"\d{4}-\d{2}-\d{2}", text)) & dates, name
    report = planted_kg.privacy_report(planted_records)
    assert report.ok
    assert report.n_ids_checked == len(ids)
    assert report.ids_found == []
    assert report.dates_found == []


def test_the_audit_finds_a_planted_id_and_field(planted_records, planted_kg) -> None:
    leaky = planted_kg.graph.copy()
    node = next(iter(leaky.nodes))
    leaky.nodes[node]["seen_in"] = "patient-P0042-7f3a9c"
    leaky.nodes[node]["encounter_id"] = "enc-00041-b41e"
    copy = kgmed.KnowledgeGraph(leaky, rules=planted_kg.rules, params=planted_kg.params)
    report = copy.privacy_report(planted_records)
    assert not report.ok
    assert report.patient_fields == ["encounter_id"]
    assert report.ids_found == ["enc-00041-b41e", "patient-P0042-7f3a9c"]


def test_a_rare_combination_stays_out_of_longer_rules(tmp_path) -> None:
    """Three concepts each pair of which is common, all three together in five patients."""
    rows = []
    groups = [("a", "b"), ("a", "c"), ("b", "c"), ("a", "b", "c")]
    sizes = [40, 40, 40, 5]
    patient = 0
    for items, size in zip(groups, sizes, strict=True):
        for _ in range(size):
            rows += [(f"p{patient}", f"finding {x}", "symptom") for x in items]
            patient += 1
    rows += [(f"q{i}", "finding d", "symptom") for i in range(200)]
    frame = pd.DataFrame(rows, columns=["patient_id", "concept", "kind"])
    kg = kgmed.build(frame, max_len=3, min_support=0.001, min_confidence=0.0)
    sizes_mined = (kg.rules["antecedents"].map(len) + kg.rules["consequents"].map(len)).tolist()
    assert sizes_mined
    assert max(sizes_mined) == 2
    assert int(kg.rules["n_both"].min()) >= 11
    text = kg.save(tmp_path / "g.json").read_text(encoding="utf-8")
    assert '"n_both": 5' not in text
    # Below the floor, the triple is mined: the check above can fail.
    loose = kgmed.build(frame, max_len=3, min_support=0.001, min_confidence=0.0, min_patients=5)
    assert 5 in set(loose.rules.loc[loose.rules["antecedents"].map(len) == 2, "n_both"])


def test_counts_put_under_the_floor_by_hand_are_flagged(planted_kg) -> None:
    graph = planted_kg.graph.copy()
    u, v, key = next(iter(graph.edges(keys=True)))
    graph.edges[u, v, key]["n_patients"] = 3
    edited = kgmed.KnowledgeGraph(graph, rules=planted_kg.rules, params=planted_kg.params)
    report = edited.privacy_report()
    assert report.n_below_floor == 1
    assert report.smallest_count == 3
    assert not report.ok
    # The RDF export still writes no count under the floor.
    counts = [int(n) for n in edited.sparql("SELECT ?n WHERE { ?a kgmed:nPatients ?n }")["n"]]
    assert min(counts) >= 11


def test_differencing_is_reported_not_prevented() -> None:
    """Twenty patients have X, fifteen of them Y: the five without Y are a small cell."""
    rows = []
    for i in range(20):
        rows.append((f"p{i}", "condition x", "disease"))
        if i < 15:
            rows.append((f"p{i}", "symptom y", "symptom"))
    rows += [(f"q{i}", "symptom z", "symptom") for i in range(100)]
    kg = kgmed.build(pd.DataFrame(rows, columns=["patient_id", "concept", "kind"]))
    edge = kg.edges("has_symptom").iloc[0]
    assert (edge["n_source"], edge["n_patients"]) == (20, 15)
    report = kg.privacy_report()
    assert report.ok  # nothing under the floor is exported...
    assert report.n_differencing == 1  # ...but 20 - 15 = 5 can be worked out
    assert "relations open to differencing    1" in str(report)


def test_the_command_output_folder_passes_the_audit(planted, tmp_path, capsys) -> None:
    source = tmp_path / "records.csv"
    planted.to_csv(source, index=False)
    out = tmp_path / "out"
    assert main(["build", str(source), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    ids = set(planted["patient_id"]) | set(planted["encounter_id"])
    for name in [*BUILD_OUTPUTS]:
        text = (out / name).read_text(encoding="utf-8")
        assert not set(re.findall(r"[\w-]+", text)) & ids, name
        assert RARE_DISEASE not in text.lower(), name
    assert RARE_DISEASE not in printed.lower()
