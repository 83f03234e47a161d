"""Node kinds, relations, and the code systems that concept ids are made of.

This module is the single place that says which pair of node kinds gives
which relation, and how a coding system's many spellings map to the prefix of
a concept id (``SNOMEDCT:44054006``, ``ICD10CM:J11.1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kgmed.errors import RecordsError, UnknownKindError

__all__ = [
    "CODE_SYSTEMS",
    "CORE_KINDS",
    "KINDS",
    "NODE_KINDS",
    "RELATIONS",
    "RELATION_ALIASES",
    "Relation",
    "concept_id_for",
    "known_system",
    "normalize_kind",
    "normalize_system",
    "relation_for",
]

#: The three kinds the graph is built around.
CORE_KINDS: tuple[str, ...] = ("disease", "symptom", "treatment")

#: Every node kind a concept may have. Readers may produce the last three.
KINDS: tuple[str, ...] = (*CORE_KINDS, "finding", "procedure", "lab")

#: Every kind a node of a graph may have: the concepts' kinds, and the nodes
#: kgmed makes itself, rules (``build(..., rule_nodes=True)``) and cohorts
#: (:func:`kgmed.cohorts.add_cohorts`).
NODE_KINDS: tuple[str, ...] = (*KINDS, "rule", "cohort")

_KIND_ALIASES: dict[str, str] = {
    "diagnosis": "disease",
    "diagnoses": "disease",
    "condition": "disease",
    "conditions": "disease",
    "disorder": "disease",
    "disorders": "disease",
    "diseases": "disease",
    "symptoms": "symptom",
    "sign": "symptom",
    "signs": "symptom",
    "complaint": "symptom",
    "complaints": "symptom",
    "drug": "treatment",
    "drugs": "treatment",
    "medication": "treatment",
    "medications": "treatment",
    "medicine": "treatment",
    "medicines": "treatment",
    "therapy": "treatment",
    "therapies": "treatment",
    "treatments": "treatment",
    "findings": "finding",
    "observation": "finding",
    "observations": "finding",
    "procedures": "procedure",
    "laboratory": "lab",
    "labs": "lab",
}


def normalize_kind(value: str) -> str:
    """Map a kind as written in the data to one of :data:`KINDS`.

    Case, surrounding whitespace and common synonyms (``diagnosis``,
    ``medication``, ``drug``...) are accepted.

    Parameters
    ----------
    value : str
        The kind as written.

    Returns
    -------
    str
        One of :data:`KINDS`.

    Raises
    ------
    UnknownKindError
        If the value is no kind nor a known synonym of one.

    Examples
    --------
    >>> from kgmed.schema import normalize_kind
    >>> normalize_kind(" Medication ")
    'treatment'
    >>> normalize_kind("Symptom")
    'symptom'
    """
    key = " ".join(str(value).replace("_", " ").split()).lower()
    if key in KINDS:
        return key
    if key in _KIND_ALIASES:
        return _KIND_ALIASES[key]
    raise UnknownKindError(
        f"unknown kind {value!r}; kinds are {list(KINDS)} "
        f"(synonyms such as 'diagnosis' or 'medication' are accepted)"
    )


@dataclass(frozen=True)
class Relation:
    """A typed relation between two node kinds.

    Attributes
    ----------
    name : str
        The relation as stored on edges (``has_symptom``).
    source_kind, target_kind : str
        The kinds of the edge's source and target nodes.
    symmetric : bool
        True when the relation reads the same both ways (``comorbid_with``);
        the edge then runs from the smaller concept id to the larger.
    """

    name: str
    source_kind: str
    target_kind: str
    symmetric: bool


#: The relations of the graph, keyed by name.
RELATIONS: dict[str, Relation] = {
    r.name: r
    for r in (
        Relation("has_symptom", "disease", "symptom", symmetric=False),
        Relation("treated_with", "disease", "treatment", symmetric=False),
        Relation("comorbid_with", "disease", "disease", symmetric=True),
        Relation("co_occurs_with", "symptom", "symptom", symmetric=True),
        Relation("co_prescribed_with", "treatment", "treatment", symmetric=True),
        Relation("associated_with", "*", "*", symmetric=True),
        Relation("antecedent_of", "*", "rule", symmetric=False),
        Relation("implies", "rule", "*", symmetric=False),
        Relation("characterized_by", "cohort", "*", symmetric=False),
    )
}

#: Other names for relations met in curated sources, with whether the
#: subject and object swap (Hetionet's "Compound treats Disease" is
#: ``treated_with`` from the disease).
RELATION_ALIASES: dict[str, tuple[str, bool]] = {
    "treats": ("treated_with", True),
    "palliates": ("treated_with", True),
    "symptom_of": ("has_symptom", True),
    "presents": ("has_symptom", False),
    "has_sign": ("has_symptom", False),
    "comorbidity": ("comorbid_with", False),
}

_BY_KINDS: dict[tuple[str, str], Relation] = {
    (r.source_kind, r.target_kind): r
    for r in RELATIONS.values()
    if "*" not in (r.source_kind, r.target_kind)
}


def relation_for(kind_a: str, kind_b: str) -> tuple[Relation, bool]:
    """The relation that links a concept of ``kind_a`` to one of ``kind_b``.

    Parameters
    ----------
    kind_a, kind_b : str
        Node kinds.

    Returns
    -------
    relation : Relation
        The relation; ``associated_with`` for pairs of kinds with no
        relation of their own.
    reversed : bool
        True when the edge runs from the ``kind_b`` concept to the
        ``kind_a`` one (``symptom``, ``disease`` gives ``has_symptom``
        reversed).

    Examples
    --------
    >>> from kgmed.schema import relation_for
    >>> rel, rev = relation_for("symptom", "disease")
    >>> rel.name, rev
    ('has_symptom', True)
    """
    if (kind_a, kind_b) in _BY_KINDS:
        return _BY_KINDS[(kind_a, kind_b)], False
    if (kind_b, kind_a) in _BY_KINDS:
        return _BY_KINDS[(kind_b, kind_a)], True
    return RELATIONS["associated_with"], False


#: Prefixes of concept ids, with the spellings of each system that readers
#: meet in the wild (FHIR system URIs, HL7 OIDs as CDA-derived data writes
#: them, OMOP vocabulary ids, plain names).
CODE_SYSTEMS: dict[str, tuple[str, ...]] = {
    "SNOMEDCT": (
        "snomedct",
        "snomed ct",
        "snomed",
        "snomedct us",
        "sct",
        "http://snomed.info/sct",
        "urn:oid:2.16.840.1.113883.6.96",
    ),
    "ICD10CM": (
        "icd10cm",
        "icd 10 cm",
        "http://hl7.org/fhir/sid/icd-10-cm",
        "urn:oid:2.16.840.1.113883.6.90",
    ),
    "ICD10": ("icd 10 who", "http://hl7.org/fhir/sid/icd-10", "urn:oid:2.16.840.1.113883.6.3"),
    "ICD9CM": (
        "icd9cm",
        "icd 9 cm",
        "http://hl7.org/fhir/sid/icd-9-cm",
        "urn:oid:2.16.840.1.113883.6.103",
    ),
    "RXNORM": (
        "rxnorm",
        "rx norm",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "urn:oid:2.16.840.1.113883.6.88",
    ),
    "LOINC": ("loinc", "http://loinc.org", "urn:oid:2.16.840.1.113883.6.1"),
    "HP": (
        "hp",
        "hpo",
        "human phenotype ontology",
        "http://purl.obolibrary.org/obo/hp.owl",
    ),
    "UMLS": ("umls", "cui", "http://www.nlm.nih.gov/research/umls"),
    "MESH": ("mesh", "msh", "http://id.nlm.nih.gov/mesh"),
    "DOID": ("doid", "disease ontology", "http://purl.obolibrary.org/obo/doid.owl"),
    "ATC": ("atc", "http://www.whocc.no/atc"),
    "DRUGBANK": ("drugbank",),
    "CVX": ("cvx", "http://hl7.org/fhir/sid/cvx", "urn:oid:2.16.840.1.113883.12.292"),
}

_SYSTEM_LOOKUP: dict[str, str] = {
    alias: prefix for prefix, aliases in CODE_SYSTEMS.items() for alias in aliases
}
_SYSTEM_LOOKUP.update({prefix.lower(): prefix for prefix in CODE_SYSTEMS})
_PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def normalize_system(value: str) -> str:
    """The concept-id prefix of a coding system.

    Known systems are recognised under their usual spellings, FHIR system
    URIs included. Any other system that is a plain word (letters and
    digits, starting with a letter) is kept, upper-cased, as a local system.

    Parameters
    ----------
    value : str
        The system as written (``"SNOMED CT"``, ``"http://loinc.org"``).

    Returns
    -------
    str
        The prefix (``"SNOMEDCT"``, ``"LOINC"``).

    Raises
    ------
    RecordsError
        If the system is neither known nor a plain word.

    Examples
    --------
    >>> from kgmed.schema import normalize_system
    >>> normalize_system("http://snomed.info/sct")
    'SNOMEDCT'
    >>> normalize_system("ICD-10-CM")
    'ICD10CM'
    >>> normalize_system("urn:oid:2.16.840.1.113883.6.96")
    'SNOMEDCT'
    """
    text = str(value).strip()
    key = " ".join(re.sub(r"[-_]", " ", text).split()).lower()
    if text.lower() in _SYSTEM_LOOKUP:
        return _SYSTEM_LOOKUP[text.lower()]
    if key in _SYSTEM_LOOKUP:
        return _SYSTEM_LOOKUP[key]
    squeezed = key.replace(" ", "")
    if squeezed in _SYSTEM_LOOKUP:
        return _SYSTEM_LOOKUP[squeezed]
    if _PREFIX_RE.match(squeezed):
        return squeezed.upper()
    raise RecordsError(
        f"coding system {value!r} is not known and is not a plain word; "
        f"known systems are {sorted(CODE_SYSTEMS)}"
    )


def known_system(value: str) -> str | None:
    """The concept-id prefix of a coding system kgmed knows, else None.

    Unlike :func:`normalize_system`, a system that is not in
    :data:`CODE_SYSTEMS` (a local code list, a URI kgmed has never met)
    gives None rather than a prefix of its own: readers of standard formats
    count such codes instead of making concept ids of them.

    Examples
    --------
    >>> from kgmed.schema import known_system
    >>> known_system("http://loinc.org"), known_system("SNOMED-CT")
    ('LOINC', 'SNOMEDCT')
    >>> known_system("http://example.org/our-codes") is None
    True
    """
    try:
        prefix = normalize_system(value)
    except RecordsError:
        return None
    return prefix if prefix in CODE_SYSTEMS else None


def concept_id_for(label: str, *, system: str | None = None, code: str | None = None) -> str:
    """The concept id of a coded or uncoded concept.

    Parameters
    ----------
    label : str
        The normalized label, used when there is no code.
    system : str, optional
        A concept-id prefix as returned by :func:`normalize_system`.
    code : str, optional
        The code within ``system``.

    Returns
    -------
    str
        ``"<SYSTEM>:<code>"`` for a coded concept, else
        ``"local:<label with spaces as underscores>"``.

    Examples
    --------
    >>> from kgmed.schema import concept_id_for
    >>> concept_id_for("influenza", system="ICD10CM", code="J11.1")
    'ICD10CM:J11.1'
    >>> concept_id_for("dry cough")
    'local:dry_cough'
    """
    if system and code:
        return f"{system}:{code}"
    return "local:" + label.replace(" ", "_")
