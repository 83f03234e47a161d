"""ontologies/kgmed.ttl and kgmed-shapes.ttl: they parse, strictly, and say what the exports do."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph
import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD

import kgmed
from kgmed import rdf, schema
from kgmed.graph import EDGE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(ROOT / "ontologies" / "kgmed.ttl", format="turtle")


def _labels(ontology: rdflib.Graph, kind: rdflib.URIRef) -> set[str]:
    return {str(ontology.value(s, RDFS.label)) for s in ontology.subjects(RDF.type, kind)}


@pytest.mark.parametrize("name", ["kgmed.ttl", "kgmed-shapes.ttl"])
def test_the_files_parse_in_a_strict_parser(name: str) -> None:
    store = pyoxigraph.Store()
    store.load((ROOT / "ontologies" / name).read_bytes(), format=pyoxigraph.RdfFormat.TURTLE)
    assert len(store) > 100


def test_the_package_reads_the_same_files(ontology: rdflib.Graph) -> None:
    assert set(kgmed.rdf.ontology()) == set(ontology)


def test_the_ontology_is_versioned(ontology: rdflib.Graph) -> None:
    version = ontology.value(rdf.ONTOLOGY_IRI, OWL.versionIRI)
    assert str(version) == f"{rdf.ONTOLOGY_IRI}/{ontology.value(rdf.ONTOLOGY_IRI, OWL.versionInfo)}"


def test_every_kind_is_a_class(ontology: rdflib.Graph) -> None:
    assert set(schema.KINDS) | {"rule"} <= _labels(ontology, OWL.Class)
    for kind, iri in rdf.KIND_CLASSES.items():
        assert (iri, RDF.type, OWL.Class) in ontology, kind


def test_every_relation_is_a_property(ontology: rdflib.Graph) -> None:
    relations = _labels(ontology, OWL.ObjectProperty) - {"subject", "predicate", "object"}
    assert set(schema.RELATIONS) == relations
    for relation, iri in rdf.PREDICATES.items():
        assert (iri, RDF.type, OWL.ObjectProperty) in ontology, relation
        assert str(ontology.value(iri, RDFS.label)) == relation


def test_symmetric_relations_are_declared_symmetric(ontology: rdflib.Graph) -> None:
    symmetric = {r.name for r in schema.RELATIONS.values() if r.symmetric}
    assert symmetric == _labels(ontology, OWL.SymmetricProperty)


def test_every_evidence_column_is_a_datatype_property(ontology: rdflib.Graph) -> None:
    evidence = set(EDGE_COLUMNS) - {"source", "target", "relation", "source_label", "target_label"}
    assert evidence <= _labels(ontology, OWL.DatatypeProperty)


def test_every_property_an_export_uses_is_declared(ontology: rdflib.Graph) -> None:
    records = kgmed.datasets.synthetic(2000, random_state=0)
    kg = kgmed.build(records, relations="annotated", max_len=3, min_support=0.05, rule_nodes=True)
    used = {p for _, p, _ in kg.to_rdf() if str(p).startswith(str(rdf.KGMED))}
    declared = set(ontology.subjects(RDF.type, OWL.ObjectProperty)) | set(
        ontology.subjects(RDF.type, OWL.DatatypeProperty)
    )
    assert used <= declared, used - declared
    classes = {o for _, _, o in kg.to_rdf().triples((None, RDF.type, None))}
    kgmed_classes = {c for c in classes if str(c).startswith(str(rdf.KGMED))}
    assert kgmed_classes <= set(ontology.subjects(RDF.type, OWL.Class))


def test_biolink_alignment_matches_the_exports(ontology: rdflib.Graph) -> None:
    """The ontology maps each relation to the Biolink predicate KGX export writes."""
    for relation, biolink in rdf.BIOLINK_PREDICATES.items():
        iri = rdf.PREDICATES[relation]
        mapped = set(ontology.objects(iri, SKOS.closeMatch)) | set(
            ontology.objects(iri, SKOS.relatedMatch)
        )
        assert mapped == {biolink}, relation
    for kind, biolink in rdf.BIOLINK_CATEGORIES.items():
        assert (rdf.KIND_CLASSES[kind], SKOS.closeMatch, biolink) in ontology, kind


def test_code_systems_have_their_standard_iris(ontology: rdflib.Graph) -> None:
    prefixes = {
        str(ontology.value(system, SKOS.notation)): str(ontology.value(system, rdf.KGMED.iriPrefix))
        for system in ontology.subjects(RDF.type, rdf.KGMED.CodeSystem)
    }
    assert prefixes == rdf.STANDARD_IRIS
    assert set(prefixes) <= set(schema.CODE_SYSTEMS)
    for system in ontology.subjects(RDF.type, rdf.KGMED.CodeSystem):
        assert ontology.value(system, rdf.KGMED.iriPrefix).datatype == XSD.anyURI
