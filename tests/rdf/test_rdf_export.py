"""RDF export: IRIs, triples, evidence, SHACL shapes, strict parsing, determinism, privacy."""

from __future__ import annotations

import gzip
import io
import math
import re
from pathlib import Path

import pandas as pd
import pyoxigraph
import pytest
import rdflib
from rdflib import RDF, SKOS, XSD, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV

import kgmed
from kgmed.rdf import BIOLINK, KGMED, concept_iri, id_for_iri, to_rdf, validate

HOSTILE = [
    'cough "dry" <at night>',
    "naïve façade — ünïcode 咳嗽",
    "back\\slash & 100% {braces} | pipe ^ caret `tick`",
    "hash # and ? query",
    "x" * 300,
]

OX_FORMATS = {
    "turtle": pyoxigraph.RdfFormat.TURTLE,
    "nt": pyoxigraph.RdfFormat.N_TRIPLES,
    "xml": pyoxigraph.RdfFormat.RDF_XML,
    "json-ld": pyoxigraph.RdfFormat.JSON_LD,
}


@pytest.fixture(scope="module")
def small_records() -> kgmed.Records:
    return kgmed.datasets.synthetic(2000, random_state=0)


@pytest.fixture(scope="module")
def small_kg(small_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    return kgmed.build(small_records)


@pytest.fixture(scope="module")
def rich_kg(small_records: kgmed.Records) -> kgmed.KnowledgeGraph:
    """Rule nodes, curated concepts with hostile labels, xrefs and curated edges."""
    kg = kgmed.build(
        small_records, relations="annotated", max_len=3, min_support=0.05, rule_nodes=True
    )
    facts = pd.DataFrame(
        {
            "subject": ["influenza"] * len(HOSTILE) + ["DOID:8469", "oseltamivir"],
            "subject_label": [None] * len(HOSTILE) + ["influenza", None],
            "relation": ["has_symptom"] * len(HOSTILE) + ["has_symptom", "treats"],
            "object": [*HOSTILE, "HP:0001945", "influenza"],
            "object_label": [None] * len(HOSTILE) + ["fever", None],
            "source": ["textbook"] * (len(HOSTILE) + 1) + ["hetionet"],
        }
    )
    kg.add_knowledge(facts)
    return kg


@pytest.fixture(scope="module")
def rich_rdf(rich_kg: kgmed.KnowledgeGraph) -> rdflib.Graph:
    return to_rdf(rich_kg)


# -- IRIs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("concept", "iri"),
    [
        ("SNOMEDCT:44054006", "http://snomed.info/id/44054006"),
        ("ICD10CM:J11.1", "http://purl.bioontology.org/ontology/ICD10CM/J11.1"),
        ("RXNORM:197361", "http://purl.bioontology.org/ontology/RXNORM/197361"),
        ("HP:0001945", "http://purl.obolibrary.org/obo/HP_0001945"),
        ("DOID:8469", "http://purl.obolibrary.org/obo/DOID_8469"),
        ("local:dry_cough", "https://w3id.org/kgmed/id/concept/local/dry_cough"),
        ("OURCODES:A 1", "https://w3id.org/kgmed/id/concept/OURCODES/A%201"),
        ("no colon", "https://w3id.org/kgmed/id/concept/_/no%20colon"),
    ],
)
def test_concept_iris_and_back(concept: str, iri: str) -> None:
    assert str(concept_iri(concept)) == iri
    assert id_for_iri(iri) == concept


@pytest.mark.parametrize("label", HOSTILE)
def test_hostile_labels_make_valid_iris_that_come_back(label: str) -> None:
    iri = str(concept_iri(f"local:{label}"))
    assert re.fullmatch(r"[A-Za-z0-9:/._%~-]+", iri), iri
    pyoxigraph.NamedNode(iri)  # the strict parser accepts it
    if len(label) < 60:
        assert id_for_iri(iri) == f"local:{label}"
    else:  # long labels are hashed: still one IRI per label
        assert "~" in iri
        assert len(iri) < 120
        assert iri != str(concept_iri(f"local:{label}y"))


def test_the_base_can_be_chosen(small_kg: kgmed.KnowledgeGraph) -> None:
    g = to_rdf(small_kg, base="https://example.org/kg#")
    assert (URIRef("https://example.org/kg#graph"), RDF.type, KGMED.KnowledgeGraph) in g
    assert not any(str(s).startswith("https://w3id.org/kgmed/id/") for s in g.subjects())


@pytest.mark.parametrize(
    "base", ["example.org/kg/", "https://example.org/kg", "https://ex ample.org/", 'http://x/"/']
)
def test_a_bad_base_is_refused(small_kg: kgmed.KnowledgeGraph, base: str) -> None:
    with pytest.raises(kgmed.ParameterError, match="base"):
        to_rdf(small_kg, base=base)


# -- what the export says -------------------------------------------------------------


def test_every_concept_is_typed_named_and_identified(small_kg: kgmed.KnowledgeGraph) -> None:
    g = to_rdf(small_kg)
    for node, attrs in small_kg.graph.nodes(data=True):
        iri = concept_iri(node)
        kind_class = kgmed.rdf.KIND_CLASSES[attrs["kind"]]
        assert (iri, RDF.type, kind_class) in g
        assert (iri, RDF.type, kgmed.rdf.BIOLINK_CATEGORIES[attrs["kind"]]) in g
        assert g.value(iri, DCTERMS.identifier) == Literal(node)
        assert g.value(iri, SKOS.prefLabel) == Literal(attrs["label"])
        assert g.value(iri, KGMED.nPatients).toPython() == attrs["n_patients"]
        code = g.value(iri, SKOS.notation)
        assert (code is None) if attrs["code"] is None else code == Literal(attrs["code"])


def test_every_edge_is_a_triple_and_an_association_with_its_evidence(
    small_kg: kgmed.KnowledgeGraph,
) -> None:
    g = to_rdf(small_kg)
    edges = small_kg.edges()
    associations = set(g.subjects(RDF.type, KGMED.Association))
    assert len(associations) == len(edges)
    for row in edges.itertuples(index=False):
        s, o = concept_iri(row.source), concept_iri(row.target)
        p = kgmed.rdf.PREDICATES[row.relation]
        assert (s, p, o) in g
        a = URIRef(
            "https://w3id.org/kgmed/id/association/"
            + kgmed.rdf.association_id(row.source, row.relation, row.target)
        )
        assert (a, KGMED.subject, s) in g
        assert (a, KGMED.object, o) in g
        assert g.value(a, KGMED.predicate) == p
        assert g.value(a, KGMED.nPatients).toPython() == row.n_patients
        assert g.value(a, KGMED.lift).toPython() == row.lift  # exact, not rounded
        assert g.value(a, KGMED.qValue).toPython() == row.q_value
        assert g.value(a, KGMED.provenance) == Literal(row.provenance)
        assert (a, PROV.wasDerivedFrom, URIRef("https://w3id.org/kgmed/id/source/mined")) in g


def test_biolink_query_finds_the_diseases(small_kg: kgmed.KnowledgeGraph) -> None:
    g = to_rdf(small_kg)
    diseases = {str(g.value(s, SKOS.prefLabel)) for s in g.subjects(RDF.type, BIOLINK.Disease)}
    assert diseases == set(small_kg.nodes("disease")["label"])


def test_without_evidence_only_direct_triples(small_kg: kgmed.KnowledgeGraph) -> None:
    g = to_rdf(small_kg, evidence=False)
    assert not set(g.subjects(RDF.type, KGMED.Association))
    relations = set(kgmed.rdf.PREDICATES.values())
    assert sum(1 for _, p, _ in g if p in relations) == small_kg.graph.number_of_edges()


def test_curated_sources_and_xrefs(rich_kg, rich_rdf) -> None:
    flu = concept_iri(rich_kg.resolve("influenza"))
    assert (flu, KGMED.xref, Literal("DOID:8469")) in rich_rdf
    doid = URIRef("http://purl.obolibrary.org/obo/DOID_8469")
    assert (flu, SKOS.exactMatch, doid) in rich_rdf
    origin = URIRef("https://w3id.org/kgmed/id/source/curated/textbook")
    assert (origin, RDF.type, PROV.Entity) in rich_rdf
    assert any(rich_rdf.subjects(PROV.wasDerivedFrom, origin))


def test_non_finite_statistics(rich_kg, rich_rdf) -> None:
    """NaN statistics are left out, never written as a number."""
    curated = rich_kg.edges().query("provenance == 'curated:textbook'")
    assert curated["lift"].isna().all()
    for row in curated.itertuples():
        a = URIRef(
            "https://w3id.org/kgmed/id/association/"
            + kgmed.rdf.association_id(row.source, row.relation, row.target)
        )
        assert rich_rdf.value(a, KGMED.lift) is None
        assert rich_rdf.value(a, KGMED.nPatients) is None
    for _, _, o in rich_rdf:
        if isinstance(o, Literal) and o.datatype == XSD.double:
            assert not math.isnan(o.toPython())


# -- SHACL ---------------------------------------------------------------------------


def test_exports_satisfy_the_shapes(small_kg, rich_rdf) -> None:
    assert validate(small_kg).empty
    report = validate(rich_rdf)
    assert report.empty, report.to_string()


def _tampered(g: rdflib.Graph, case: str) -> rdflib.Graph:
    out = rdflib.Graph()
    out += g
    association = next(iter(sorted(out.subjects(RDF.type, KGMED.Association))))
    concept = next(iter(sorted(out.subjects(RDF.type, KGMED.Disease))))
    if case == "under the floor":
        out.set((association, KGMED.nPatients, Literal(3, datatype=XSD.integer)))
    elif case == "patient id":
        out.add((concept, URIRef("https://example.org/patientId"), Literal("P000001")))
    elif case == "no label":
        out.remove((concept, SKOS.prefLabel, None))
    elif case == "direct triple missing":
        s = out.value(association, KGMED.subject)
        p = out.value(association, KGMED.predicate)
        o = out.value(association, KGMED.object)
        out.remove((s, p, o))
    elif case == "probability above 1":
        out.set((association, KGMED.qValue, Literal(1.5, datatype=XSD.double)))
    elif case == "count as a string":
        out.set((association, KGMED.nPatients, Literal("many")))
    elif case == "symptom of a symptom":
        symptom = next(iter(sorted(out.subjects(RDF.type, KGMED.Symptom))))
        out.add((symptom, KGMED.hasSymptom, symptom))
    return out


@pytest.mark.parametrize(
    "case",
    [
        "under the floor",
        "patient id",
        "no label",
        "direct triple missing",
        "probability above 1",
        "count as a string",
        "symptom of a symptom",
    ],
)
def test_the_shapes_catch(small_kg: kgmed.KnowledgeGraph, case: str) -> None:
    report = validate(_tampered(to_rdf(small_kg), case))
    assert not report.empty
    assert report["focus"].notna().all()
    assert report["message"].notna().all()


# -- strict parsing, formats, determinism --------------------------------------------------


@pytest.mark.parametrize(
    ("format", "suffix"), [("turtle", "ttl"), ("nt", "nt"), ("xml", "rdf"), ("json-ld", "jsonld")]
)
def test_every_format_parses_in_a_strict_second_parser(
    rich_rdf: rdflib.Graph, tmp_path: Path, format: str, suffix: str
) -> None:
    text = kgmed.rdf.serialize(rich_rdf, format)
    store = pyoxigraph.Store()
    store.load(text.encode("utf-8"), format=OX_FORMATS[format])
    assert len(store) == len(rich_rdf)
    # rdflib reads it back to the same triples, lexical forms of doubles included.
    path = tmp_path / f"kg.{suffix}"
    path.write_text(text, encoding="utf-8")
    back = kgmed.rdf.from_rdf(path)
    assert set(back.to_rdf()) == set(rich_rdf)


@pytest.mark.parametrize(
    ("name", "format"),
    [("kg.ttl", "turtle"), ("kg.nt", "nt"), ("kg.jsonld", "json-ld"), ("kg.rdf", "xml")],
)
def test_save_picks_the_format_from_the_name(rich_kg, tmp_path: Path, name, format) -> None:
    path = rich_kg.save(tmp_path / name)
    store = pyoxigraph.Store()
    store.load(path.read_bytes(), format=OX_FORMATS[format])
    assert len(store) == len(rich_kg.to_rdf())


def test_save_gzip_and_explicit_format(small_kg, tmp_path: Path) -> None:
    path = small_kg.save(tmp_path / "kg.nt.gz")
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    assert text == kgmed.rdf.serialize(small_kg.to_rdf(), "nt")
    other = small_kg.save(tmp_path / "graph.out", format="turtle")
    assert other.read_text(encoding="utf-8").startswith("@prefix")
    with pytest.raises(kgmed.ParameterError, match="format"):
        small_kg.save(tmp_path / "kg.ttl", format="yaml")


@pytest.mark.parametrize(("name", "format"), [("kg.nt", "nt"), ("kg.ttl", "turtle")])
def test_saving_writes_what_serialize_writes(rich_kg, tmp_path: Path, name, format) -> None:
    """save() takes a shorter road to N-Triples and Turtle: to the same text."""
    for base in (kgmed.rdf.DEFAULT_BASE, "https://example.org/kg#"):
        saved = rich_kg.save(tmp_path / name, base=base).read_text(encoding="utf-8")
        assert saved == kgmed.rdf.serialize(to_rdf(rich_kg, base=base), format)
    saved = rich_kg.save(tmp_path / name, evidence=False).read_text(encoding="utf-8")
    assert saved == kgmed.rdf.serialize(to_rdf(rich_kg, evidence=False), format)


def test_n_triples_are_byte_identical(small_records: kgmed.Records, tmp_path: Path) -> None:
    """The same graph, built twice, gives the same bytes."""
    a = kgmed.build(small_records).save(tmp_path / "a.nt").read_bytes()
    b = kgmed.build(small_records).save(tmp_path / "b.nt").read_bytes()
    assert a == b
    lines = a.decode("utf-8").splitlines()
    assert lines == sorted(lines)


def test_turtle_is_byte_identical(rich_kg, tmp_path: Path) -> None:
    a = rich_kg.save(tmp_path / "a.ttl").read_bytes()
    b = rich_kg.save(tmp_path / "b.ttl").read_bytes()
    assert a == b


# -- privacy ----------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["turtle", "nt", "xml", "json-ld"])
def test_no_patient_id_in_any_export(small_records, small_kg, format: str) -> None:
    text = kgmed.rdf.serialize(to_rdf(small_kg), format)
    patients = small_records.data["patient_id"].astype(str).unique()
    tokens = set(re.findall(r"[A-Za-z0-9_-]+", text))
    assert not tokens.intersection(patients)


def test_no_count_under_the_floor(small_records) -> None:
    """Even a count the graph holds (here put there by hand) stays out."""
    kg = kgmed.build(small_records)
    u, v, key = next(iter(kg.graph.edges(keys=True)))
    kg.graph.edges[u, v, key]["n_recorded"] = 4
    g = to_rdf(kg)
    counts = [KGMED.nPatients, KGMED.nBoth, KGMED.nSource, KGMED.nTarget, KGMED.nRecorded]
    values = [o.toPython() for p in counts for o in g.objects(None, p)]
    assert values
    assert min(v for v in values if v > 0) >= 11
    assert validate(g).empty


def test_a_lowered_floor_is_followed(small_records) -> None:
    kg = kgmed.build(small_records, min_patients=3)
    g = to_rdf(kg)
    assert g.value(URIRef("https://w3id.org/kgmed/id/graph"), KGMED.minPatients).toPython() == 3
    assert min(o.toPython() for o in g.objects(None, KGMED.nPatients)) < 11


def test_validation_report_is_a_table(small_kg) -> None:
    report = validate(small_kg)
    assert isinstance(report, pd.DataFrame)
    assert list(report.columns) == [
        "focus",
        "path",
        "value",
        "constraint",
        "severity",
        "message",
    ]
    with pytest.raises(kgmed.ParameterError):
        validate("kg.ttl")  # type: ignore[arg-type]


def test_ontology_and_shapes_load() -> None:
    assert (kgmed.rdf.ONTOLOGY_IRI, RDF.type, rdflib.OWL.Ontology) in kgmed.rdf.ontology()
    shapes = kgmed.rdf.shapes()
    assert len(shapes) > 100
    io.StringIO(shapes.serialize(format="turtle"))
