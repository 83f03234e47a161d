"""RDF for kgmed graphs: export, import, SHACL validation, SPARQL, KGX, push to a triple store.

A :class:`~kgmed.KnowledgeGraph` leaves as an :class:`rdflib.Graph` in
kgmed's own vocabulary (``ontologies/kgmed.ttl``), aligned with the Biolink
Model, SKOS, PROV-O and the standard IRIs of code systems, and comes back
from one unchanged.

Examples
--------
>>> import kgmed
>>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
>>> g = kgmed.rdf.to_rdf(kg)
>>> kgmed.rdf.validate(g).empty
True
"""

from kgmed.rdf._export import FORMATS, serialize, to_rdf, write
from kgmed.rdf._import import RDF_RELATIONS, from_rdf, read_knowledge
from kgmed.rdf._kgx import KGX_EDGE_COLUMNS, KGX_NODE_COLUMNS, to_kgx
from kgmed.rdf._push import PushResult, push, query
from kgmed.rdf._sparql import ENGINES, PREFIXES, sparql
from kgmed.rdf._terms import (
    BIOLINK,
    BIOLINK_CATEGORIES,
    BIOLINK_PREDICATES,
    DEFAULT_BASE,
    KGMED,
    KIND_CLASSES,
    ONTOLOGY_IRI,
    PREDICATES,
    STANDARD_IRIS,
    association_id,
    check_base,
    concept_iri,
    id_for_iri,
)
from kgmed.rdf._validate import ontology, shapes, validate

__all__ = [
    "BIOLINK",
    "BIOLINK_CATEGORIES",
    "BIOLINK_PREDICATES",
    "DEFAULT_BASE",
    "ENGINES",
    "FORMATS",
    "KGMED",
    "KGX_EDGE_COLUMNS",
    "KGX_NODE_COLUMNS",
    "KIND_CLASSES",
    "ONTOLOGY_IRI",
    "PREDICATES",
    "PREFIXES",
    "RDF_RELATIONS",
    "STANDARD_IRIS",
    "PushResult",
    "association_id",
    "check_base",
    "concept_iri",
    "from_rdf",
    "id_for_iri",
    "ontology",
    "push",
    "query",
    "read_knowledge",
    "serialize",
    "shapes",
    "sparql",
    "to_kgx",
    "to_rdf",
    "validate",
    "write",
]
