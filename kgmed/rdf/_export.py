"""KnowledgeGraph to rdflib.Graph, and to files in the usual RDF formats."""

from __future__ import annotations

import gzip
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib import RDF, RDFS, SKOS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV

from kgmed._validation import as_number
from kgmed.errors import ParameterError
from kgmed.rdf._terms import (
    BIOLINK,
    BIOLINK_CATEGORIES,
    DEFAULT_BASE,
    KGMED,
    KIND_CLASSES,
    PREDICATES,
    STANDARD_IRIS,
    association_id,
    check_base,
    concept_iri,
    local_iri,
)

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph

__all__ = ["FORMATS", "serialize", "to_rdf", "write"]

#: RDF formats kgmed writes, by the name rdflib gives them, with the file
#: suffixes that choose each one.
FORMATS: dict[str, tuple[str, ...]] = {
    "turtle": (".ttl",),
    "nt": (".nt",),
    "json-ld": (".jsonld",),
    "xml": (".rdf", ".owl", ".xml"),
}
_FORMAT_ALIASES: dict[str, str] = {
    "ttl": "turtle",
    "turtle": "turtle",
    "nt": "nt",
    "ntriples": "nt",
    "n-triples": "nt",
    "nt11": "nt",
    "json-ld": "json-ld",
    "jsonld": "json-ld",
    "xml": "xml",
    "rdf/xml": "xml",
    "rdfxml": "xml",
    "pretty-xml": "xml",
}

# Edge evidence: column -> (property, datatype). Counts are whole numbers,
# statistics doubles; ``direct`` a boolean and ``provenance`` a string.
EDGE_COUNTS: dict[str, URIRef] = {
    "n_patients": KGMED.nPatients,
    "n_both": KGMED.nBoth,
    "n_source": KGMED.nSource,
    "n_target": KGMED.nTarget,
    "n_total": KGMED.nTotal,
    "n_recorded": KGMED.nRecorded,
}
EDGE_STATISTICS: dict[str, URIRef] = {
    "p_target_given_source": KGMED.pTargetGivenSource,
    "p_source_given_target": KGMED.pSourceGivenTarget,
    "lift": KGMED.lift,
    "leverage": KGMED.leverage,
    "support": KGMED.support,
    "p_value": KGMED.pValue,
    "q_value": KGMED.qValue,
    "adjusted_odds_ratio": KGMED.adjustedOddsRatio,
    "adjusted_p_value": KGMED.adjustedPValue,
    "adjusted_q_value": KGMED.adjustedQValue,
    "direct_weight": KGMED.directWeight,
    "direct_q_value": KGMED.directQValue,
}
# Numbers a node may carry: its patient count, its leak (the rate of a symptom
# or treatment with none of the diseases), and a rule node's statistics.
NODE_NUMBERS: dict[str, URIRef] = {
    "leak": KGMED.leak,
    "support": KGMED.support,
    "confidence": KGMED.confidence,
    "lift": KGMED.lift,
    "p_value": KGMED.pValue,
    "q_value": KGMED.qValue,
}


def to_rdf(kg: KnowledgeGraph, *, base: str = DEFAULT_BASE, evidence: bool = True) -> Graph:
    """The graph as RDF, in kgmed's vocabulary aligned with Biolink, SKOS and PROV-O.

    Each concept is typed with its kgmed class and its Biolink category,
    named with ``skos:prefLabel``, and keeps its id (``dcterms:identifier``),
    system and code (``skos:notation``). Each relation is a direct triple
    (``<influenza> kgmed:hasSymptom <fever>``) and, with ``evidence=True``, a
    ``kgmed:Association`` resource (the n-ary relation pattern) carrying its
    counts, conditionals, lift, q-value and provenance. No patient
    identifier is written, and no count under the graph's ``min_patients``.

    Parameters
    ----------
    kg : KnowledgeGraph
        The graph.
    base : str, default "https://w3id.org/kgmed/id/"
        Where the IRIs of local concepts, associations and the graph itself
        live. Coded concepts keep their standard IRIs (see
        :data:`kgmed.rdf.STANDARD_IRIS`).
    evidence : bool, default True
        Write the association resources with their evidence; without them
        only the direct triples and the concepts are written.

    Returns
    -------
    rdflib.Graph

    Raises
    ------
    ParameterError
        If ``base`` is not an absolute IRI ending in ``/`` or ``#``.

    See Also
    --------
    kgmed.rdf.from_rdf : Read an export back.
    kgmed.rdf.validate : Check an export against kgmed's SHACL shapes.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    >>> g = kg.to_rdf()
    >>> from kgmed.rdf import KGMED
    >>> flu = kgmed.rdf.concept_iri(kg.resolve("influenza"))
    >>> fever = kgmed.rdf.concept_iri(kg.resolve("fever"))
    >>> (flu, KGMED.hasSymptom, fever) in g
    True
    """
    base = check_base(base)
    graph = Graph(bind_namespaces="none")
    bind_prefixes(graph, base)
    graph.addN((s, p, o, graph) for s, p, o in _triples(kg, base=base, evidence=evidence))
    return graph


def bind_prefixes(graph: Graph, base: str = DEFAULT_BASE) -> None:
    """Bind the prefixes kgmed's exports use."""
    graph.bind("kgmed", KGMED)
    graph.bind("biolink", BIOLINK)
    graph.bind("rdf", RDF)
    graph.bind("rdfs", RDFS)
    graph.bind("owl", OWL)
    graph.bind("skos", SKOS)
    graph.bind("xsd", XSD)
    graph.bind("dcterms", DCTERMS)
    graph.bind("prov", PROV)
    graph.bind("kg", Namespace(base))
    graph.bind("association", Namespace(base + "association/"))
    graph.bind("source", Namespace(base + "source/"))
    graph.bind("local", Namespace(base + "concept/local/"))
    graph.bind("rule", Namespace(base + "concept/rule/"))
    graph.bind("cohort", Namespace(base + "concept/cohort/"))
    for prefix, namespace in STANDARD_IRIS.items():
        graph.bind(prefix.lower(), Namespace(namespace))


def _triples(kg: KnowledgeGraph, *, base: str, evidence: bool) -> Iterator[tuple[Any, URIRef, Any]]:
    from kgmed import __version__

    floor = int(kg.params.get("min_patients", 11))
    dataset = URIRef(base + "graph")
    yield dataset, RDF.type, KGMED.KnowledgeGraph
    yield dataset, RDF.type, PROV.Entity
    yield dataset, DCTERMS.conformsTo, URIRef(f"https://w3id.org/kgmed/vocab/{_short(__version__)}")
    yield dataset, KGMED.softwareVersion, Literal(__version__)
    params = json.dumps(_plain(kg.params), sort_keys=True, ensure_ascii=False, allow_nan=True)
    yield dataset, KGMED.buildParameters, Literal(params)
    yield dataset, KGMED.minPatients, Literal(floor, datatype=XSD.integer)

    iris: dict[str, URIRef] = {}
    for node, attrs in kg.graph.nodes(data=True):
        iri = concept_iri(node, base=base)
        iris[node] = iri
        kind = attrs.get("kind")
        if kind not in KIND_CLASSES:
            raise ParameterError(
                f"concept {node!r} has kind {kind!r}, which RDF export cannot type"
            )
        if kind not in ("rule", "cohort"):
            yield iri, RDF.type, KGMED.Concept
            yield iri, RDF.type, BIOLINK_CATEGORIES[kind]
        yield iri, RDF.type, KIND_CLASSES[kind]
        yield iri, DCTERMS.identifier, Literal(node)
        label = attrs.get("label")
        if label is not None:
            yield iri, SKOS.prefLabel, Literal(str(label))
        if attrs.get("system") is not None:
            yield iri, KGMED.system, Literal(str(attrs["system"]))
        if attrs.get("code") is not None:
            yield iri, SKOS.notation, Literal(str(attrs["code"]))
        n = _count(attrs.get("n_patients"), floor)
        if n is not None:
            yield iri, KGMED.nPatients, n
        for name, prop in NODE_NUMBERS.items():
            value = _double(attrs.get(name))
            if value is not None:
                yield iri, prop, value
        for xref in attrs.get("xrefs") or ():
            yield iri, KGMED.xref, Literal(str(xref))
            prefix, _, code = str(xref).partition(":")
            if prefix in STANDARD_IRIS and code:
                yield iri, SKOS.exactMatch, concept_iri(str(xref), base=base)

    sources: set[str] = set()
    for source, target, relation, attrs in kg.graph.edges(keys=True, data=True):
        subject, obj = iris[source], iris[target]
        predicate = PREDICATES[relation]
        yield subject, predicate, obj
        if not evidence:
            continue
        association = local_iri(base, "association", association_id(source, relation, target))
        yield association, RDF.type, KGMED.Association
        yield association, KGMED.subject, subject
        yield association, KGMED.predicate, predicate
        yield association, KGMED.object, obj
        for name, prop in EDGE_COUNTS.items():
            n = _count(attrs.get(name), floor)
            if n is not None:
                yield association, prop, n
        for name, prop in EDGE_STATISTICS.items():
            value = _double(attrs.get(name))
            if value is not None:
                yield association, prop, value
        for name, prop in (("direct", KGMED.direct), ("holds", KGMED.holds)):
            flag = attrs.get(name)
            if flag is not None and not _is_nan(flag):
                yield association, prop, Literal(bool(flag))
        provenance = attrs.get("provenance")
        if provenance:
            yield association, KGMED.provenance, Literal(str(provenance))
            for part in str(provenance).split("; "):
                origin = _source_iri(base, part)
                sources.add(part)
                yield association, PROV.wasDerivedFrom, origin
    for part in sorted(sources):
        origin = _source_iri(base, part)
        yield origin, RDF.type, PROV.Entity
        yield origin, RDFS.label, Literal(part)


def _source_iri(base: str, part: str) -> URIRef:
    kind, _, name = part.partition(":")
    return local_iri(base, "source", kind, name) if name else local_iri(base, "source", kind)


def _short(version: str) -> str:
    """The release a version belongs to (``0.1.0.dev0`` -> ``0.1.0``)."""
    parts = version.split(".")
    return ".".join(parts[:3])


def _is_nan(value: Any) -> bool:
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return True


def _count(value: Any, floor: int) -> Literal | None:
    """A count as a literal; None when missing, or under the privacy floor."""
    if value is None or _is_nan(value):
        return None
    n = int(value)
    if 0 < n < floor:
        return None
    return Literal(n, datatype=XSD.integer)


def _double(value: Any) -> Literal | None:
    number = as_number(value)
    if number is None:
        return None
    if math.isinf(number):
        # XSD's own spelling, which every RDF writer then keeps as it is.
        return Literal("INF" if number > 0 else "-INF", datatype=XSD.double, normalize=False)
    return Literal(number, datatype=XSD.double)


def _plain(value: Any) -> Any:
    """JSON-ready copy of build parameters (numpy scalars as Python ones)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def rdf_format(format: str | None, path: Path | None = None) -> str | None:
    """The rdflib format name for ``format`` or for the suffix of ``path``.

    Returns None when neither names an RDF format (the caller's own format).
    """
    if format is not None:
        key = format.strip().lower()
        if key not in _FORMAT_ALIASES:
            raise ParameterError(
                f"unknown RDF format {format!r}; formats are {sorted(FORMATS)} "
                f"(also {sorted(set(_FORMAT_ALIASES) - set(FORMATS))})"
            )
        return _FORMAT_ALIASES[key]
    if path is None:
        return None
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if not suffixes:
        return None
    for name, endings in FORMATS.items():
        if suffixes[-1] in endings:
            return name
    return None


def serialize(graph: Graph, format: str = "turtle") -> str:
    """An RDF graph as text, the same text for the same graph.

    N-Triples come as sorted lines. Turtle, JSON-LD and RDF/XML are written
    by pyoxigraph from those lines, with the graph's prefixes: it keeps
    every literal's lexical form (rdflib's Turtle writer shortens doubles to
    six digits) and is many times faster.

    Parameters
    ----------
    graph : rdflib.Graph
    format : str, default "turtle"
        ``"turtle"``, ``"nt"``, ``"json-ld"`` or ``"xml"``.

    Returns
    -------
    str

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    >>> a = kgmed.rdf.serialize(kg.to_rdf(), "nt")
    >>> a == kgmed.rdf.serialize(kg.to_rdf(), "nt")
    True
    """
    name = rdf_format(format)
    assert name is not None
    lines = graph.serialize(format="nt", encoding="utf-8").decode("utf-8").splitlines()
    lines = sorted(line for line in lines if line)
    text = "\n".join(lines) + ("\n" if lines else "")
    if name == "nt":
        return text
    return _from_ntriples(text, name, dict(graph.namespaces()))


def _ntriples(kg: KnowledgeGraph, *, base: str, evidence: bool) -> str:
    """The export as sorted N-Triples lines, made from the terms directly."""
    lines = sorted(
        {f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in _triples(kg, base=base, evidence=evidence)}
    )
    return "\n".join(lines) + ("\n" if lines else "")


def _from_ntriples(text: str, name: str, namespaces: Mapping[str, Any]) -> str:
    """N-Triples rewritten by pyoxigraph in another format, with these prefixes."""
    import pyoxigraph

    triples = pyoxigraph.parse(text.encode("utf-8"), format=pyoxigraph.RdfFormat.N_TRIPLES)
    prefixes = {
        prefix: str(namespace)
        for prefix, namespace in sorted(namespaces.items())
        if prefix and not (name == "xml" and not str(namespace).endswith(("/", "#")))
    }
    out = pyoxigraph.serialize(triples, format=_OXIGRAPH_FORMATS[name], prefixes=prefixes)
    assert out is not None  # no output file given: the bytes are returned
    result = out.decode("utf-8")
    if name == "turtle":  # the prefix lines in a fixed order
        head, body = [], result.splitlines(keepends=True)
        while body and body[0].startswith("@prefix "):
            head.append(body.pop(0))
        result = "".join(sorted(head)) + "".join(body)
    return result


_OXIGRAPH_FORMATS: dict[str, Any] = {}


def _oxigraph_formats() -> None:
    import pyoxigraph

    _OXIGRAPH_FORMATS.update(
        {
            "turtle": pyoxigraph.RdfFormat.TURTLE,
            "json-ld": pyoxigraph.RdfFormat.JSON_LD,
            "xml": pyoxigraph.RdfFormat.RDF_XML,
        }
    )


_oxigraph_formats()


def write(
    kg: KnowledgeGraph,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    base: str = DEFAULT_BASE,
    evidence: bool = True,
) -> Path:
    """Write the graph as RDF to ``path`` (gzip-compressed when it ends in ``.gz``)."""
    target = Path(path)
    name = rdf_format(format, target)
    if name is None:
        raise ParameterError(
            f"{target.name}: no RDF format for this file name; pass format= one of "
            f"{sorted(FORMATS)} or use a suffix among "
            f"{sorted(s for endings in FORMATS.values() for s in endings)}"
        )
    base = check_base(base)
    if name in ("nt", "turtle"):
        # Straight from the triples to sorted N-Triples, without an rdflib
        # graph in between (twice as fast; the same text, see the tests).
        text = _ntriples(kg, base=base, evidence=evidence)
        if name == "turtle":
            holder = Graph(bind_namespaces="none")
            bind_prefixes(holder, base)
            text = _from_ntriples(text, name, dict(holder.namespaces()))
        data = text.encode("utf-8")
    else:
        data = serialize(to_rdf(kg, base=base, evidence=evidence), name).encode("utf-8")
    if target.suffix.lower() == ".gz":
        target.write_bytes(gzip.compress(data, mtime=0))
    else:
        target.write_bytes(data)
    return target
