"""The vocabulary of kgmed's RDF: namespaces, classes, predicates, and IRIs for concepts.

Every IRI kgmed writes is made here, from a concept id or a fixed name, by
percent-encoding (or, for very long ids, hashing) the user's text: no label
or code ever reaches an IRI unescaped.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from urllib.parse import quote, unquote

from rdflib import Namespace, URIRef

from kgmed.errors import ParameterError
from kgmed.schema import NODE_KINDS, RELATIONS

__all__ = [
    "BIOLINK",
    "BIOLINK_CATEGORIES",
    "BIOLINK_PREDICATES",
    "DEFAULT_BASE",
    "KGMED",
    "KIND_CLASSES",
    "ONTOLOGY_IRI",
    "PREDICATES",
    "STANDARD_IRIS",
    "association_id",
    "check_base",
    "concept_iri",
    "id_for_iri",
]

#: The namespace of kgmed's classes and properties (``ontologies/kgmed.ttl``).
KGMED = Namespace("https://w3id.org/kgmed/vocab#")
#: The Biolink Model namespace.
BIOLINK = Namespace("https://w3id.org/biolink/vocab/")
#: The ontology's IRI; its version IRI adds the version.
ONTOLOGY_IRI = URIRef("https://w3id.org/kgmed/vocab")
#: Where instance data (local concepts, associations, the graph itself) lives
#: unless ``base=`` says otherwise.
DEFAULT_BASE = "https://w3id.org/kgmed/id/"

#: Standard IRIs of the code systems whose concepts keep their own IRI:
#: ``ICD10CM:J11.1`` is ``http://purl.bioontology.org/ontology/ICD10CM/J11.1``.
STANDARD_IRIS: dict[str, str] = {
    "SNOMEDCT": "http://snomed.info/id/",
    "ICD10CM": "http://purl.bioontology.org/ontology/ICD10CM/",
    "ICD10": "http://purl.bioontology.org/ontology/ICD10/",
    "ICD9CM": "http://purl.bioontology.org/ontology/ICD9CM/",
    "RXNORM": "http://purl.bioontology.org/ontology/RXNORM/",
    "LOINC": "http://purl.bioontology.org/ontology/LNC/",
    "ATC": "http://purl.bioontology.org/ontology/ATC/",
    "CVX": "http://purl.bioontology.org/ontology/CVX/",
    "HP": "http://purl.obolibrary.org/obo/HP_",
    "DOID": "http://purl.obolibrary.org/obo/DOID_",
    "MESH": "http://id.nlm.nih.gov/mesh/",
    "UMLS": "http://identifiers.org/umls/",
    "DRUGBANK": "http://identifiers.org/drugbank/",
}

#: The class of each node kind (``rule`` nodes are ``kgmed:Rule``, ``cohort``
#: nodes ``kgmed:Cohort``).
KIND_CLASSES: dict[str, URIRef] = {
    "disease": KGMED.Disease,
    "symptom": KGMED.Symptom,
    "treatment": KGMED.Treatment,
    "finding": KGMED.Finding,
    "procedure": KGMED.Procedure,
    "lab": KGMED.Lab,
    "rule": KGMED.Rule,
    "cohort": KGMED.Cohort,
}

#: The Biolink category of each node kind, written beside kgmed's own class.
BIOLINK_CATEGORIES: dict[str, URIRef] = {
    "disease": BIOLINK.Disease,
    "symptom": BIOLINK.PhenotypicFeature,
    "treatment": BIOLINK.Drug,
    "finding": BIOLINK.PhenotypicFeature,
    "procedure": BIOLINK.Procedure,
    "lab": BIOLINK.ClinicalMeasurement,
}

#: The kgmed property of each relation (``has_symptom`` is ``kgmed:hasSymptom``).
PREDICATES: dict[str, URIRef] = {
    name: KGMED[re.sub(r"_(\w)", lambda m: m.group(1).upper(), name)] for name in RELATIONS
}

#: The Biolink predicate each relation maps to (KGX export, ontology alignment).
#: ``antecedent_of`` and ``implies`` link kgmed's rule nodes, and
#: ``characterized_by`` its cohort nodes: they have none.
BIOLINK_PREDICATES: dict[str, URIRef] = {
    "has_symptom": BIOLINK.has_phenotype,
    "treated_with": BIOLINK.treated_by,
    "comorbid_with": BIOLINK.correlated_with,
    "co_occurs_with": BIOLINK.correlated_with,
    "co_prescribed_with": BIOLINK.correlated_with,
    "associated_with": BIOLINK.associated_with,
}

assert set(KIND_CLASSES) == set(NODE_KINDS)

# Characters kept as they are in the encoded part of an IRI; "~" is left out
# so that the hashed form below ("~" + hex) never collides with an encoded id.
_SAFE = "-._"
_MAX_ENCODED = 200
_PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_IRI_BAD = re.compile(r'[\x00-\x20<>"{}|\\^`]')
_ASSOCIATION_NAMESPACE = uuid.UUID("6f1c7c66-4f7e-5b5e-9a53-6b6d6564a001")


def check_base(base: str) -> str:
    """Check that ``base`` can prefix instance IRIs: absolute, ending in ``/`` or ``#``.

    Examples
    --------
    >>> from kgmed.rdf import check_base
    >>> check_base("https://example.org/kg/")
    'https://example.org/kg/'
    """
    if not isinstance(base, str):
        raise ParameterError(f"base must be an IRI string, got {type(base).__name__}")
    scheme = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", base)
    if not scheme or _IRI_BAD.search(base) or not base.endswith(("/", "#")):
        raise ParameterError(
            f"base must be an absolute IRI ending in '/' or '#' with no spaces or "
            f'<>"{{}}|\\^` characters (such as {DEFAULT_BASE!r}), got {base!r}'
        )
    return base


def _encode(text: str) -> str:
    encoded = quote(text, safe=_SAFE)
    if len(encoded) > _MAX_ENCODED:
        return "~" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    return encoded


def concept_iri(concept_id: str, *, base: str = DEFAULT_BASE) -> URIRef:
    """The IRI of a concept.

    A concept coded in a system with a standard IRI (SNOMED CT, ICD-10-CM,
    RxNorm, HPO... see :data:`STANDARD_IRIS`) gets that IRI; any other
    concept (a local label, a local code list, a rule node) gets one under
    ``base``. The code or label is percent-encoded, and hashed when the
    encoding would pass 200 characters; the concept's id itself is kept in
    the export as ``dcterms:identifier``.

    Parameters
    ----------
    concept_id : str
        A concept id (``"ICD10CM:J11.1"``, ``"local:dry_cough"``).
    base : str, default DEFAULT_BASE
        Where IRIs of local concepts live.

    Returns
    -------
    rdflib.URIRef

    Examples
    --------
    >>> from kgmed.rdf import concept_iri
    >>> str(concept_iri("ICD10CM:J11.1"))
    'http://purl.bioontology.org/ontology/ICD10CM/J11.1'
    >>> str(concept_iri("HP:0001945"))
    'http://purl.obolibrary.org/obo/HP_0001945'
    >>> str(concept_iri("local:naïve <cough>", base="https://example.org/kg/"))
    'https://example.org/kg/concept/local/na%C3%AFve%20%3Ccough%3E'
    """
    prefix, sep, rest = concept_id.partition(":")
    if sep and prefix in STANDARD_IRIS and rest and not rest.startswith("//"):
        return URIRef(STANDARD_IRIS[prefix] + _encode(rest))
    if sep and _PREFIX_RE.match(prefix) and rest:
        return URIRef(f"{base}concept/{prefix}/{_encode(rest)}")
    return URIRef(f"{base}concept/_/{_encode(concept_id)}")


def id_for_iri(iri: str, *, base: str | None = None) -> str | None:
    """The concept id an IRI stands for, when the IRI says it.

    Standard code-system IRIs give ``PREFIX:code``; IRIs kgmed made under
    ``base`` give back the id they were made from (unless it was hashed).

    Examples
    --------
    >>> from kgmed.rdf import id_for_iri
    >>> id_for_iri("http://snomed.info/id/44054006")
    'SNOMEDCT:44054006'
    >>> id_for_iri("https://w3id.org/kgmed/id/concept/local/dry_cough")
    'local:dry_cough'
    >>> id_for_iri("https://example.org/other") is None
    True
    """
    text = str(iri)
    for prefix, namespace in STANDARD_IRIS.items():
        if text.startswith(namespace) and len(text) > len(namespace):
            rest = text[len(namespace) :]
            return None if rest.startswith("~") else f"{prefix}:{unquote(rest)}"
    root = f"{base or DEFAULT_BASE}concept/"
    if text.startswith(root):
        prefix, sep, rest = text[len(root) :].partition("/")
        if not sep or not rest or rest.startswith("~"):
            return None
        return unquote(rest) if prefix == "_" else f"{prefix}:{unquote(rest)}"
    return None


def association_id(source: str, relation: str, target: str) -> str:
    """A stable id for one edge, the same in RDF and KGX exports.

    Examples
    --------
    >>> from kgmed.rdf import association_id
    >>> association_id("ICD10CM:J11.1", "has_symptom", "HP:0001945")
    '...-...-5...-...-...'
    """
    return str(uuid.uuid5(_ASSOCIATION_NAMESPACE, "\x1f".join((source, relation, target))))


def local_iri(base: str, *parts: str) -> URIRef:
    """An IRI under ``base`` whose path parts are percent-encoded."""
    return URIRef(base + "/".join(_encode(part) for part in parts))
