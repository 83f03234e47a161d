"""ontologies/kgmed.ttl parses and declares every kind and relation kgmed uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS

from kgmed import schema
from kgmed.graph import EDGE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(ROOT / "ontologies" / "kgmed.ttl", format="turtle")


def _labels(ontology: rdflib.Graph, kind: rdflib.URIRef) -> set[str]:
    return {str(ontology.value(s, RDFS.label)) for s in ontology.subjects(RDF.type, kind)}


def test_every_kind_is_a_class(ontology: rdflib.Graph) -> None:
    assert set(schema.KINDS) | {"rule"} <= _labels(ontology, OWL.Class)


def test_every_relation_is_a_property(ontology: rdflib.Graph) -> None:
    assert set(schema.RELATIONS) == _labels(ontology, OWL.ObjectProperty)


def test_symmetric_relations_are_declared_symmetric(ontology: rdflib.Graph) -> None:
    symmetric = {r.name for r in schema.RELATIONS.values() if r.symmetric}
    assert symmetric == _labels(ontology, OWL.SymmetricProperty)


def test_every_evidence_column_is_a_datatype_property(ontology: rdflib.Graph) -> None:
    evidence = set(EDGE_COLUMNS) - {"source", "target", "relation", "source_label", "target_label"}
    assert evidence == _labels(ontology, OWL.DatatypeProperty)
