"""Hostile strings reach every output and change nothing but their own text.

Labels with quotes, braces, SPARQL and markup in them, right-to-left text,
combining marks, emoji and control characters go through reading,
building, SPARQL (local and in a real store), RDF, HTML and the CSV files
of the command line.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from pathlib import Path

import pandas as pd
import pyoxigraph
import pytest
from rdflib import BNode, Literal, URIRef

import kgmed
from kgmed.cli import main
from kgmed.errors import ParameterError

HOSTILE = [
    'flu" . } ; DROP ALL ; #',
    "flu' } INSERT DATA { <urn:x> <urn:y> <urn:z> } #",
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "حمى شديدة",  # Arabic, right to left
    "cafe\u0301 fever",  # a combining mark
    "🤒 fever",
    "tab\there",
    "back\\slash {braces} <angle> `tick` ^caret |pipe",
]


def shown(label: str) -> str:
    """The label kgmed gives: spacing collapsed, composed characters (NFC)."""
    return unicodedata.normalize("NFC", " ".join(label.split()))


QUERY = """
SELECT ?symptom ?n WHERE {
    ?a kgmed:predicate kgmed:hasSymptom ; kgmed:nPatients ?n ;
       kgmed:subject/skos:prefLabel ?disease ; kgmed:object/skos:prefLabel ?symptom .
} ORDER BY ?symptom
"""


@pytest.fixture(scope="module")
def hostile_records() -> pd.DataFrame:
    """Each hostile label a disease of 15 patients, all of whom have fever; 30 others have cough."""
    rows = []
    patient = 0
    for label in HOSTILE:
        for _ in range(15):
            rows += [(f"p{patient}", label, "disease"), (f"p{patient}", "fever", "symptom")]
            patient += 1
    rows += [(f"q{i}", "cough", "symptom") for i in range(30)]
    return pd.DataFrame(rows, columns=["patient_id", "concept", "kind"])


@pytest.fixture(scope="module")
def hostile_kg(hostile_records: pd.DataFrame) -> kgmed.KnowledgeGraph:
    return kgmed.build(hostile_records, relations="association", keep="all")


def test_hostile_labels_are_kept_as_written(hostile_kg: kgmed.KnowledgeGraph) -> None:
    assert set(hostile_kg.nodes()["label"]) == {shown(label) for label in HOSTILE} | {
        "fever",
        "cough",
    }


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
@pytest.mark.parametrize("label", HOSTILE)
def test_a_binding_finds_exactly_its_label(
    hostile_kg: kgmed.KnowledgeGraph, engine: str, label: str
) -> None:
    rows = hostile_kg.sparql(QUERY, bindings={"disease": shown(label)}, engine=engine)
    assert rows["symptom"].tolist() == ["fever"]
    assert rows["n"].tolist() == [15]


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_an_injection_attempt_is_just_a_label_that_matches_nothing(
    hostile_kg: kgmed.KnowledgeGraph, engine: str
) -> None:
    before = len(hostile_kg.sparql("SELECT * WHERE { ?s ?p ?o }", engine=engine))
    attack = (
        'x" } UNION { ?a kgmed:predicate ?p ; kgmed:nPatients ?n . BIND("fever" AS ?symptom) } #'
    )
    rows = hostile_kg.sparql(QUERY, bindings={"disease": attack}, engine=engine)
    assert rows.empty
    assert len(hostile_kg.sparql("SELECT * WHERE { ?s ?p ?o }", engine=engine)) == before


def test_bindings_take_typed_values_and_iris(hostile_kg: kgmed.KnowledgeGraph) -> None:
    rows = hostile_kg.sparql(
        "SELECT ?disease WHERE { ?a kgmed:nPatients ?n ; kgmed:subject/skos:prefLabel ?disease ;"
        " kgmed:object/skos:prefLabel ?symptom } ORDER BY ?disease",
        bindings={"n": 15, "?symptom": Literal("fever")},
    )
    assert len(rows) == len(HOSTILE)
    kgmed_vocab = "https://w3id.org/kgmed/vocab#"
    assert hostile_kg.sparql("ASK { ?a ?p ?o }", bindings={"p": URIRef(kgmed_vocab + "nPatients")})


@pytest.mark.parametrize(
    ("bindings", "message"),
    [
        ({"a b": "x"}, "not a SPARQL variable name"),
        ({"n": math.nan}, "not a finite number"),
        ({"n": BNode()}, "is a blank node"),
        ({"n": [1, 2]}, "must be a string, number, bool"),
        ({"n": URIRef("not an iri")}, "not a valid RDF term"),
        ({"n": "\ud800"}, "not a valid RDF term"),
        (["n"], "must be a mapping"),
    ],
)
def test_bad_bindings_are_named(
    hostile_kg: kgmed.KnowledgeGraph, bindings: object, message: str
) -> None:
    with pytest.raises(ParameterError, match=message):
        hostile_kg.sparql("ASK { ?s ?p ?n }", bindings=bindings)  # type: ignore[arg-type]


def test_bindings_reach_a_real_store_as_terms(
    hostile_kg: kgmed.KnowledgeGraph, oxigraph_server: str
) -> None:
    graph = "urn:kgmed:hostile"
    sent = kgmed.rdf.push(hostile_kg, oxigraph_server, graph=graph).triples
    prefixes = (
        "PREFIX kgmed: <https://w3id.org/kgmed/vocab#>\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    )
    query = prefixes + QUERY.replace(
        "SELECT ?symptom ?n WHERE {", f"SELECT ?symptom ?n WHERE {{ GRAPH <{graph}> {{"
    )
    query = query.replace("} ORDER BY", "} } ORDER BY")
    for label in HOSTILE:
        rows = kgmed.rdf.query(oxigraph_server, query, bindings={"disease": shown(label)})
        assert rows["symptom"].tolist() == ["fever"], label
    count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    assert kgmed.rdf.query(oxigraph_server, count)["n"].tolist() == [sent]


def test_graph_names_cannot_carry_sparql(hostile_kg: kgmed.KnowledgeGraph) -> None:
    for graph in ["urn:a> } DROP ALL { <urn:b", "urn:a b", 'urn:"x"', "not an iri"]:
        with pytest.raises(ParameterError, match="graph must be None"):
            kgmed.rdf.push(hostile_kg, "http://127.0.0.1:9", graph=graph)


def test_iris_stay_valid(hostile_kg: kgmed.KnowledgeGraph) -> None:
    """Every IRI of the export parses strictly, and no label leaks into an IRI unescaped."""
    text = kgmed.rdf.serialize(hostile_kg.to_rdf(), "nt")
    triples = list(pyoxigraph.parse(text.encode("utf-8"), format=pyoxigraph.RdfFormat.N_TRIPLES))
    assert len(triples) == len(text.splitlines())
    iris = {t.value for triple in triples for t in triple if isinstance(t, pyoxigraph.NamedNode)}
    for iri in iris:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|\\^`]+", iri), iri
    labels = {t.value for triple in triples for t in triple if isinstance(t, pyoxigraph.Literal)}
    assert {shown(label) for label in HOSTILE} <= labels


def test_the_html_page_shows_hostile_labels_as_text(
    hostile_kg: kgmed.KnowledgeGraph, tmp_path: Path
) -> None:
    page = hostile_kg.to_html(tmp_path / "page.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "alert(1)</script>" not in page  # no label can close the page's script


def test_every_csv_file_of_the_command_defuses_formulas(
    hostile_records: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "records.csv"
    hostile_records.to_csv(source, index=False)
    out = tmp_path / "out"
    assert (
        main(
            ["build", str(source), "--out", str(out), "--relations", "association", "--keep", "all"]
        )
        == 0
    )
    assert (
        main(["export", str(out / "graph.json"), "--format", "csv", "--out", str(tmp_path / "t")])
        == 0
    )
    capsys.readouterr()
    files = [out / "nodes.csv", out / "edges.csv", out / "rules.csv"]
    files += [tmp_path / "t" / "nodes.csv", tmp_path / "t" / "edges.csv"]
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        risky = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
        risky += [c for c in cells if c[:1] == "-" and not re.fullmatch(r"-[0-9.e+-]+", c)]
        assert not risky, (path.name, risky[:3])
        assert "'=cmd|' /C calc'!A0" in cells or path.name == "rules.csv", path.name
