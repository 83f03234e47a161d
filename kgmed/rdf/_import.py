"""RDF back in: kgmed's own exports exactly, and curated knowledge in aligned vocabularies."""

from __future__ import annotations

import gzip
import json
import math
import os
import warnings
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd
from rdflib import RDF, RDFS, SKOS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS
from rdflib.util import guess_format

from kgmed.errors import GraphFileError, ParameterError
from kgmed.graph import KnowledgeGraph
from kgmed.knowledge import KNOWLEDGE_COLUMNS
from kgmed.mining.rules import RULE_COLUMNS
from kgmed.rdf._export import EDGE_COUNTS, EDGE_STATISTICS, NODE_NUMBERS, rdf_format
from kgmed.rdf._terms import BIOLINK, KGMED, KIND_CLASSES, PREDICATES, id_for_iri

__all__ = ["RDF_RELATIONS", "from_rdf", "read_knowledge"]

#: Predicates read as statements from curated RDF, with the kgmed relation
#: (or alias, see :data:`kgmed.schema.RELATION_ALIASES`) each becomes.
RDF_RELATIONS: dict[URIRef, str] = {
    **{
        predicate: relation
        for relation, predicate in PREDICATES.items()
        if relation not in ("antecedent_of", "implies", "characterized_by")
    },
    BIOLINK.has_phenotype: "has_symptom",
    BIOLINK.phenotype_of: "symptom_of",
    BIOLINK.treated_by: "treated_with",
    BIOLINK.treats: "treats",
}

_KINDS_BY_CLASS: dict[URIRef, str] = {iri: kind for kind, iri in KIND_CLASSES.items()}
_RELATIONS_BY_PREDICATE: dict[URIRef, str] = {p: r for r, p in PREDICATES.items()}
_PAIR_RELATIONS = frozenset(PREDICATES) - {"antecedent_of", "implies"}


def _parse(
    source: Graph | str | os.PathLike[str], format: str | None
) -> tuple[Graph, str, str | None]:
    """An rdflib graph, a name for messages, and the file's stem (None for a graph)."""
    if isinstance(source, Graph):
        return source, "graph", None
    if not isinstance(source, (str, os.PathLike)):
        raise ParameterError(
            f"expected an rdflib.Graph or a path to an RDF file, got {type(source).__name__}"
        )
    path = Path(source)
    if not path.is_file():
        raise GraphFileError(f"{path.name}: no such file ({os.fspath(source)!r})")
    name = rdf_format(format, path) or guess_format(str(path).removesuffix(".gz"))
    if name is None:
        raise GraphFileError(
            f"{path.name}: cannot tell the RDF format from the file name; pass format="
        )
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        graph = Graph(bind_namespaces="none")
        with warnings.catch_warnings():
            # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="rdflib")
            graph.parse(data=data, format=name)
    except Exception as err:  # rdflib's parsers raise many kinds of error
        raise GraphFileError(
            f"{path.name}: not valid {name} RDF ({type(err).__name__}: {err})"
        ) from err
    return graph, path.name, path.name.split(".")[0]


def from_rdf(
    source: Graph | str | os.PathLike[str],
    *,
    format: str | None = None,
    source_name: str | None = None,
) -> KnowledgeGraph:
    """A KnowledgeGraph from RDF: a kgmed export, or curated knowledge.

    An export written by :func:`kgmed.rdf.to_rdf` (or ``kg.save("kg.ttl")``)
    comes back with the same concepts, relations, evidence and build
    parameters; concepts are ordered by id and relations by (relation,
    source, target), and the rules table, which RDF does not carry, is
    empty. Any other RDF is read as curated knowledge (see
    :func:`read_knowledge`) into a graph with no patient evidence.

    Parameters
    ----------
    source : rdflib.Graph or path
        A graph, or a file in Turtle, N-Triples, JSON-LD or RDF/XML (the
        format from its suffix, ``.gz`` files decompressed).
    format : str, optional
        The file's format when its suffix does not say.
    source_name : str, optional
        For curated RDF: the name its statements' provenance gets
        (``"curated:<name>"``); the file's stem by default.

    Returns
    -------
    KnowledgeGraph

    Raises
    ------
    GraphFileError
        If the file is missing or not valid RDF, or a kgmed export is
        damaged (a concept with no id, an association missing an end).

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    >>> back = kgmed.rdf.from_rdf(kg.to_rdf())
    >>> cols = ["source", "relation", "target"]
    >>> back.edges().sort_values(cols).reset_index(drop=True).equals(
    ...     kg.edges().sort_values(cols).reset_index(drop=True))
    True
    """
    graph, name, stem = _parse(source, format)
    datasets = sorted(str(d) for d in set(graph.subjects(RDF.type, KGMED.KnowledgeGraph)))
    if not datasets:
        statements = read_knowledge(graph, source=source_name or stem)
        kg = KnowledgeGraph()
        if len(statements):
            kg.add_knowledge(statements)
        return kg
    if len(datasets) > 1:
        raise GraphFileError(f"{name}: holds {len(datasets)} kgmed graphs; read one at a time")
    return _from_export(graph, URIRef(datasets[0]), name)


def _from_export(graph: Graph, dataset: Any, name: str) -> KnowledgeGraph:
    params_text = graph.value(dataset, KGMED.buildParameters)
    try:
        params = json.loads(str(params_text)) if params_text is not None else {}
    except json.JSONDecodeError as err:
        raise GraphFileError(f"{name}: kgmed:buildParameters is not JSON ({err})") from err

    nodes: dict[Any, tuple[str, dict[str, Any]]] = {}
    for cls, kind in _KINDS_BY_CLASS.items():
        for iri in graph.subjects(RDF.type, cls):
            if iri in nodes:
                raise GraphFileError(f"{name}: {iri} is typed with two kgmed kinds")
            found = graph.value(iri, DCTERMS.identifier)
            identifier = str(found) if found is not None else id_for_iri(str(iri))
            if identifier is None:
                raise GraphFileError(f"{name}: concept {iri} has no dcterms:identifier")
            nodes[iri] = (identifier, _node_attrs(graph, iri, kind))

    out: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for node, attrs in sorted(nodes.values(), key=lambda item: item[0]):
        out.add_node(node, **attrs)

    edges: list[tuple[str, str, str, dict[str, Any]]] = []
    associations = list(graph.subjects(RDF.type, KGMED.Association))
    if associations:
        for association in associations:
            parts = [
                graph.value(association, p) for p in (KGMED.subject, KGMED.predicate, KGMED.object)
            ]
            if any(part is None for part in parts):
                raise GraphFileError(
                    f"{name}: association {association} lacks its subject, predicate or object"
                )
            subject, predicate, obj = parts
            relation = _RELATIONS_BY_PREDICATE.get(URIRef(str(predicate)))
            if relation is None or subject not in nodes or obj not in nodes:
                raise GraphFileError(
                    f"{name}: association {association} links {subject} and {obj} by "
                    f"{predicate}, which is not a kgmed relation between two concepts"
                )
            edges.append(
                (
                    nodes[subject][0],
                    nodes[obj][0],
                    relation,
                    _edge_attrs(graph, association, relation),
                )
            )
    else:
        for predicate, relation in _RELATIONS_BY_PREDICATE.items():
            for subject, obj in graph.subject_objects(predicate):
                if subject in nodes and obj in nodes:
                    attrs = _edge_attrs(graph, None, relation)
                    edges.append((nodes[subject][0], nodes[obj][0], relation, attrs))
    for source, target, relation, attrs in sorted(edges, key=lambda e: (e[2], e[0], e[1])):
        out.add_edge(source, target, key=relation, **attrs)
    return KnowledgeGraph(out, pd.DataFrame(columns=list(RULE_COLUMNS)), params=params)


def _node_attrs(graph: Graph, iri: Any, kind: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "kind": kind,
        "label": _text(graph.value(iri, SKOS.prefLabel)),
        "system": _text(graph.value(iri, KGMED.system)),
        "code": _text(graph.value(iri, SKOS.notation)),
        "n_patients": _integer(graph.value(iri, KGMED.nPatients)),
    }
    for name, prop in NODE_NUMBERS.items():
        value = graph.value(iri, prop)
        if value is not None:
            attrs[name] = float(value.toPython())
    xrefs = sorted(str(x) for x in graph.objects(iri, KGMED.xref))
    if xrefs:
        attrs["xrefs"] = xrefs
    return attrs


def _edge_attrs(graph: Graph, association: Any, relation: str) -> dict[str, Any]:
    provenance = _text(graph.value(association, KGMED.provenance)) if association else None
    if relation not in _PAIR_RELATIONS:
        return {"provenance": provenance}
    attrs: dict[str, Any] = {}
    for name, prop in EDGE_STATISTICS.items():
        value = graph.value(association, prop) if association else None
        attrs[name] = float(value.toPython()) if value is not None else math.nan
    for name, prop in EDGE_COUNTS.items():
        attrs[name] = _integer(graph.value(association, prop)) if association else None
    for name, prop in (("direct", KGMED.direct), ("holds", KGMED.holds)):
        flag = graph.value(association, prop) if association else None
        attrs[name] = bool(flag.toPython()) if flag is not None else None
    attrs["provenance"] = provenance
    return attrs


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _integer(value: Any) -> int | None:
    return None if value is None else int(value.toPython())


def read_knowledge(
    data: Graph | str | os.PathLike[str],
    *,
    source: str | None = None,
    format: str | None = None,
) -> pd.DataFrame:
    """Curated statements from RDF that uses kgmed's or Biolink's vocabulary.

    Triples whose predicate is one of :data:`RDF_RELATIONS`
    (``biolink:has_phenotype``, ``biolink:treats``, ``biolink:treated_by``,
    ``kgmed:hasSymptom``...) become statements for
    :meth:`kgmed.KnowledgeGraph.add_knowledge`. An end's id comes from its
    ``dcterms:identifier``, else from its IRI when it is a standard
    code-system IRI (``http://purl.obolibrary.org/obo/HP_0001945`` is
    ``HP:0001945``), else the IRI itself; its label from ``skos:prefLabel``,
    else ``rdfs:label``.

    Parameters
    ----------
    data : rdflib.Graph or path
        The RDF.
    source : str, optional
        The source's name (``"curated:<source>"`` in provenance); the file's
        stem by default, ``"rdf"`` for a graph.
    format : str, optional
        The file's format when its suffix does not say.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`kgmed.knowledge.KNOWLEDGE_COLUMNS`, sorted. Statements
        with a blank node or a literal at an end cannot name a concept and
        are not read; their number is in ``.attrs["skipped"]``.

    Raises
    ------
    GraphFileError
        If the file is missing or not valid RDF.

    Examples
    --------
    >>> import kgmed, rdflib
    >>> g = rdflib.Graph().parse(format="turtle", data=\'\'\'
    ... @prefix biolink: <https://w3id.org/biolink/vocab/> .
    ... @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
    ... <http://purl.obolibrary.org/obo/DOID_8469> rdfs:label "influenza" ;
    ...     biolink:has_phenotype <http://purl.obolibrary.org/obo/HP_0001945> .
    ... <http://purl.obolibrary.org/obo/HP_0001945> rdfs:label "fever" .
    ... \'\'\')
    >>> kgmed.rdf.read_knowledge(g, source="textbook").iloc[0].tolist()
    ['DOID:8469', 'influenza', 'has_symptom', 'HP:0001945', 'fever', 'textbook']
    """
    graph, _, stem = _parse(data, format)
    source = source or stem or "rdf"
    rows: list[tuple[str, str | None, str, str, str | None, str]] = []
    skipped = 0
    for subject, relation, obj in _statements(graph):
        if not isinstance(subject, URIRef) or not isinstance(obj, URIRef):
            skipped += 1
            continue
        rows.append(
            (
                _concept_id(graph, subject),
                _label(graph, subject),
                relation,
                _concept_id(graph, obj),
                _label(graph, obj),
                source,
            )
        )
    table = pd.DataFrame(sorted(rows, key=itemgetter(2, 0, 3)), columns=list(KNOWLEDGE_COLUMNS))
    table.attrs["skipped"] = skipped
    return table


def _concept_id(graph: Graph, iri: URIRef) -> str:
    identifier = graph.value(iri, DCTERMS.identifier)
    if isinstance(identifier, Literal):
        return str(identifier)
    return id_for_iri(str(iri)) or str(iri)


def _label(graph: Graph, iri: URIRef) -> str | None:
    for prop in (SKOS.prefLabel, RDFS.label):
        labels = sorted(str(v) for v in graph.objects(iri, prop) if isinstance(v, Literal))
        if labels:
            return labels[0]
    return None


def _statements(graph: Graph) -> Iterable[tuple[Any, str, Any]]:
    for predicate, relation in RDF_RELATIONS.items():
        for subject, obj in graph.subject_objects(predicate):
            yield subject, relation, obj
