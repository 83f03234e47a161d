"""HTML pages: what they draw, what they leave out, that they fetch nothing, and escaping."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import kgmed
from kgmed.viz import graph_page

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(2)</script>",
    '"><svg onload=alert(3)>',
    "{{ 7*7 }} & ünïcode 咳嗽",
]


@pytest.fixture(scope="module")
def small_kg() -> kgmed.KnowledgeGraph:
    return kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))


@pytest.fixture(scope="module")
def hostile_kg() -> kgmed.KnowledgeGraph:
    kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    kg.add_knowledge(
        pd.DataFrame(
            {
                "subject": ["influenza"] * len(HOSTILE),
                "relation": ["has_symptom"] * len(HOSTILE),
                "object": HOSTILE,
                "source": ['textbook <b onmouseover="alert(4)">'] * len(HOSTILE),
            }
        )
    )
    return kg


def page_data(page_html: str) -> tuple[list[dict], list[dict]]:
    nodes = re.search(r"new vis\.DataSet\((\[.*?\])\);\n  var edges", page_html, re.S)
    edges = re.search(r"var edges = new vis\.DataSet\((\[.*?\])\);", page_html, re.S)
    assert nodes
    assert edges
    return json.loads(nodes.group(1)), json.loads(edges.group(1))


def test_the_whole_graph(small_kg: kgmed.KnowledgeGraph) -> None:
    page = graph_page(small_kg)
    nodes, edges = page_data(page.html)
    assert page.n_nodes == len(nodes) == len(small_kg)
    assert page.n_edges == len(edges) == small_kg.graph.number_of_edges()
    assert {n["id"] for n in nodes} == set(small_kg.graph.nodes)
    assert "Left out" not in page.html


def test_a_neighbourhood(small_kg: kgmed.KnowledgeGraph) -> None:
    flu = small_kg.resolve("influenza")
    page = graph_page(small_kg, focus="influenza", depth=1)
    nodes, edges = page_data(page.html)
    neighbours = set(small_kg.graph.successors(flu)) | set(small_kg.graph.predecessors(flu))
    assert {n["id"] for n in nodes} == neighbours | {flu}
    drawn = small_kg.graph.subgraph(neighbours | {flu})
    assert len(edges) == drawn.number_of_edges()
    centre = next(n for n in nodes if n["id"] == flu)
    assert centre["borderWidth"] == 4


def test_max_nodes_keeps_the_strongest_and_says_what_is_left_out(small_kg) -> None:
    page = graph_page(small_kg, max_nodes=10)
    nodes, _ = page_data(page.html)
    assert len(nodes) == 10
    counts = small_kg.nodes().set_index("id")["n_patients"]
    drawn = counts.loc[[n["id"] for n in nodes]]
    assert drawn.min() >= counts.drop(drawn.index).max()
    assert "Left out: 52 of 62 concepts" in page.html
    assert page.n_nodes_total == 62
    assert page.n_edges_total == small_kg.graph.number_of_edges()


def test_max_edges_keeps_the_strongest_and_says_how_many_are_left_out(small_kg) -> None:
    whole = graph_page(small_kg, max_edges=None)
    page = graph_page(small_kg, max_edges=40)
    _, all_edges = page_data(whole.html)
    nodes, edges = page_data(page.html)
    assert len(nodes) == whole.n_nodes
    assert len(edges) == page.n_edges == 40
    assert len(all_edges) > 40
    graph = small_kg.graph

    def strength(edge: dict) -> float:
        u, key, v = edge["id"].split("|")
        attrs = graph.edges[u, v, key]
        weight = attrs.get("direct_weight")
        if weight is not None and weight == weight:  # not NaN
            return float(weight)
        values = [attrs.get("p_target_given_source"), attrs.get("p_source_given_target")]
        values = [float(x) for x in values if x is not None and x == x]
        return max(values) if values else 1.0

    kept = {e["id"] for e in edges}
    left = [strength(e) for e in all_edges if e["id"] not in kept]
    assert min(strength(e) for e in edges) >= max(left)
    assert f"Left out: {len(all_edges) - 40:,} of the {len(all_edges):,} relations" in page.html
    assert "Left out" not in whole.html


def test_max_edges_keeps_the_relations_of_the_focus_first(small_kg) -> None:
    flu = small_kg.resolve("influenza")
    page = graph_page(small_kg, focus="influenza", depth=2, max_edges=5)
    _, edges = page_data(page.html)
    assert len(edges) == 5
    assert all(flu in (e["from"], e["to"]) for e in edges)


def test_relations_and_min_lift(small_kg: kgmed.KnowledgeGraph) -> None:
    page = graph_page(small_kg, relations=["has_symptom"], min_lift=2.0)
    _, edges = page_data(page.html)
    expected = small_kg.edges("has_symptom").query("lift >= 2.0")
    assert len(edges) == len(expected)
    assert {e["relation"] for e in edges} == {"has_symptom"}


def test_tooltips_carry_the_evidence(small_kg: kgmed.KnowledgeGraph) -> None:
    nodes, edges = page_data(graph_page(small_kg, focus="influenza", depth=1).html)
    row = small_kg.edges("has_symptom").query("source_label == 'influenza'").iloc[0]
    edge = next(e for e in edges if e["from"] == row["source"] and e["to"] == row["target"])
    assert f"({row['n_both']:,} of {row['n_source']:,})" in edge["title"]
    assert f"lift {row['lift']:.2f}" in edge["title"]
    assert "source: mined" in edge["title"]
    flu = next(n for n in nodes if n["label"] == "influenza")
    assert f"{small_kg.graph.nodes[flu['id']]['n_patients']:,} patients" in flu["title"]


def test_the_legend_names_every_kind_and_relation_drawn(small_kg) -> None:
    page = graph_page(small_kg).html
    legend = page[page.index('id="kgmed-legend"') : page.index("</section>")]
    for kind in ("disease", "symptom", "treatment"):
        assert kind in legend
    for relation in set(small_kg.edges()["relation"]):
        assert relation.replace("_", " ") in legend


def test_nothing_is_fetched(small_kg: kgmed.KnowledgeGraph) -> None:
    page = graph_page(small_kg).html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "default-src 'none'" in page
    assert not re.search(r"""url\(\s*["']?(https?:)?//""", page)  # nor from the CSS
    assert not re.search(r"""@import""", page)


def test_hostile_labels_stay_data(hostile_kg: kgmed.KnowledgeGraph) -> None:
    page = graph_page(hostile_kg, focus="influenza", depth=1, title="</title><script>x</script>")
    text = page.html
    nodes, _ = page_data(text)
    labels = {n["label"] for n in nodes}
    for label in HOSTILE:
        assert label in labels  # the data carries the label as written...
        assert label not in text  # ...and the page source never holds it raw
    assert "<title>&lt;/title&gt;&lt;script&gt;x&lt;/script&gt;</title>" in text
    assert html.escape(HOSTILE[0]) in text  # the search list, escaped
    assert all("<" not in chunk for chunk in re.findall(r"new vis\.DataSet\((.*?)\);", text, re.S))


def test_notebook_display_is_self_contained(small_kg: kgmed.KnowledgeGraph) -> None:
    page = small_kg.show(focus="asthma", depth=1)
    shown = page._repr_html_()
    assert shown.startswith("<iframe srcdoc=")
    assert "<script>" not in shown  # the page is inside the attribute, escaped
    assert html.unescape(re.search(r'srcdoc="(.*?)"', shown, re.S).group(1)) == page.html


def test_to_html_writes_the_page(small_kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    path = small_kg.to_html(tmp_path / "kg.html", focus="asthma")
    assert path.read_text(encoding="utf-8") == small_kg.show(focus="asthma").html


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"focus": "no such thing"}, kgmed.ConceptNotFound, "no such thing"),
        ({"relations": ["treats_badly"]}, kgmed.ParameterError, "unknown relations"),
        ({"max_nodes": 0}, kgmed.ParameterError, "max_nodes"),
        ({"max_edges": -1}, kgmed.ParameterError, "max_edges"),
        ({"max_edges": 2.5}, kgmed.ParameterError, "max_edges"),
        ({"depth": -1}, kgmed.ParameterError, "depth"),
        ({"min_lift": float("nan")}, kgmed.ParameterError, "min_lift"),
        ({"height": "1px; background: red"}, kgmed.ParameterError, "height"),
    ],
)
def test_bad_options(small_kg, options, error, match) -> None:
    with pytest.raises(error, match=match):
        graph_page(small_kg, **options)


# -- one patient, and paths --------------------------------------------------------------


def test_a_patient_page(small_kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    link = small_kg.link(
        {"present": ["fever", "cough"], "absent": ["runny nose"], "treatments": ["acetaminophen"]}
    )
    page = link.show(top=2, n_questions=2)
    nodes, edges = page_data(page.html)
    ids = {n["id"] for n in nodes}
    assert set(link.matched["id"]) <= ids
    assert set(link.diagnoses["id"].head(2)) <= ids
    assert set(link.next_questions["id"].head(2)) <= ids
    leading = link.diagnoses.iloc[0]
    node = next(n for n in nodes if n["id"] == leading["id"])
    assert node["label"] == f"{leading['label']} ({leading['score']:.0%})"
    absent = next(n for n in nodes if n["label"] == "runny nose")
    assert absent["shapeProperties"] == {"borderDashes": [6, 4]}
    drawn = small_kg.graph.subgraph(ids)
    expected = [
        k
        for _, _, k in drawn.edges(keys=True)
        if k in ("has_symptom", "treated_with", "comorbid_with")
    ]
    assert len(edges) == len(expected) == page.n_edges
    text = page.html
    assert "Leading diagnoses" in text
    assert "Ask next" in text
    assert f"{leading['label']}: probability {leading['score']:.2f}" in text
    saved = link.to_html(tmp_path / "patient.html", top=2, n_questions=2)
    assert saved.read_text(encoding="utf-8") == text


def test_a_patient_page_needs_its_graph(small_kg: kgmed.KnowledgeGraph) -> None:
    link = small_kg.link(["fever"])
    link.kg = None
    with pytest.raises(kgmed.GraphError, match="no graph"):
        link.show()


def test_a_paths_page(small_kg: kgmed.KnowledgeGraph, tmp_path: Path) -> None:
    paths = small_kg.paths("fever", "oseltamivir", k=3)
    page = kgmed.viz.paths_page(paths)
    nodes, edges = page_data(page.html)
    assert {n["id"] for n in nodes} == {c for p in paths for c in p.nodes}
    hops = {(h.source, h.relation, h.target) for p in paths for h in p.hops}
    assert len(edges) == len(hops)
    best = {(h.source, h.target) for h in paths[0].hops}
    assert all(e["label"] == "1" for e in edges if (e["from"], e["to"]) in best)
    assert paths[0].explain().splitlines()[1].strip() in html.unescape(page.html)
    written = small_kg.paths_html(tmp_path / "paths.html", "fever", "oseltamivir", k=3)
    assert written.read_text(encoding="utf-8") == page.html
    one = paths[0].to_html(tmp_path / "one.html")
    assert page_data(one.read_text(encoding="utf-8"))[0][0]["id"] == paths[0].nodes[0]
    with pytest.raises(kgmed.ParameterError, match="no path"):
        kgmed.viz.paths_page([])
