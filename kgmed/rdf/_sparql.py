"""SPARQL over a KnowledgeGraph without leaving Python."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

from kgmed.errors import ParameterError
from kgmed.rdf._bindings import oxigraph_terms, rdflib_terms
from kgmed.rdf._terms import BIOLINK, DEFAULT_BASE, KGMED

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph

__all__ = ["ENGINES", "PREFIXES", "sparql"]

#: Prefixes every query may use without declaring them.
PREFIXES: dict[str, str] = {
    "kgmed": str(KGMED),
    "biolink": str(BIOLINK),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "skos": str(SKOS),
    "xsd": str(XSD),
    "dcterms": str(DCTERMS),
    "prov": str(PROV),
}

#: The engines :func:`sparql` can run a query on.
ENGINES: tuple[str, ...] = ("oxigraph", "rdflib")

_INTEGERS = {
    str(XSD[name])
    for name in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "negativeInteger",
        "nonPositiveInteger",
        "unsignedInt",
        "unsignedLong",
        "unsignedShort",
        "unsignedByte",
    )
}
_FLOATS = {str(XSD.double), str(XSD.float), str(XSD.decimal)}


def sparql(
    kg: KnowledgeGraph,
    query: str,
    *,
    engine: str = "oxigraph",
    base: str = DEFAULT_BASE,
    bindings: Mapping[str, object] | None = None,
) -> pd.DataFrame | bool | Graph:
    """Run a SPARQL 1.1 query over the graph's RDF export.

    The graph is exported once (with its evidence, see
    :func:`kgmed.rdf.to_rdf`) and loaded into the engine; the loaded copy is
    kept until the graph changes. The prefixes in :data:`PREFIXES`
    (``kgmed:``, ``biolink:``, ``skos:``...) need no declaration.

    Parameters
    ----------
    kg : KnowledgeGraph
    query : str
        A SELECT, ASK, CONSTRUCT or DESCRIBE query.
    engine : {"oxigraph", "rdflib"}, default "oxigraph"
        ``"oxigraph"`` runs the query in pyoxigraph's in-memory store;
        ``"rdflib"`` in rdflib's own engine. Both give the same answers;
        Oxigraph is the default because it answers the benchmark's
        neighbour and two-hop queries many times faster (see
        ``benchmarks/RESULTS.md``).
    base : str, default "https://w3id.org/kgmed/id/"
        The base of the export's local IRIs.
    bindings : mapping of str to object, optional
        Values for variables of the query (``{"label": "influenza"}``),
        given as RDF terms, never pasted into its text: a string is a
        literal whatever quotes or braces it holds; ``bool``, ``int`` and
        ``float`` are typed literals; an ``rdflib.URIRef`` is an IRI.
        Pass a user's term this way rather than formatting it into the
        query. A bound variable must appear in the query's pattern.

    Returns
    -------
    pandas.DataFrame, bool or rdflib.Graph
        For SELECT, one column per variable: IRIs as strings, literals as
        Python values (int, float, bool, str), unbound as None. For ASK, a
        bool; for CONSTRUCT and DESCRIBE, an rdflib Graph.

    Raises
    ------
    ParameterError
        If the query does not parse, or ``engine`` is not one of
        :data:`ENGINES`.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
    >>> kg.sparql('''
    ...     SELECT ?symptom ?n WHERE {
    ...         ?a a kgmed:Association ; kgmed:predicate kgmed:hasSymptom ;
    ...            kgmed:subject/skos:prefLabel "influenza" ;
    ...            kgmed:object/skos:prefLabel ?symptom ; kgmed:nPatients ?n .
    ...     } ORDER BY DESC(?n) LIMIT 2''')
      symptom    n
    0   fever  227
    1   cough  192

    A user's term goes in as a binding, never into the text:

    >>> kg.sparql('''
    ...     SELECT ?symptom WHERE {
    ...         ?a kgmed:predicate kgmed:hasSymptom ; kgmed:nPatients ?n ;
    ...            kgmed:subject/skos:prefLabel ?disease ; kgmed:object/skos:prefLabel ?symptom .
    ...     } ORDER BY DESC(?n) LIMIT 1''', bindings={"disease": "influenza"})
      symptom
    0   fever
    """
    if engine not in ENGINES:
        raise ParameterError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    if not isinstance(query, str):
        raise ParameterError(f"query must be a string, got {type(query).__name__}")
    terms = oxigraph_terms(bindings)
    if engine == "oxigraph":
        return _oxigraph(kg, query, base, terms)
    return _rdflib(kg, query, base, rdflib_terms(bindings))


def _oxigraph(
    kg: KnowledgeGraph, query: str, base: str, terms: dict[str, Any]
) -> pd.DataFrame | bool | Graph:
    import pyoxigraph

    key = ("sparql", "oxigraph", base)
    store = kg._cached(key)
    if store is None:
        from kgmed.rdf._export import serialize, to_rdf

        store = pyoxigraph.Store()
        text = serialize(to_rdf(kg, base=base), "nt")
        store.bulk_load(text.encode("utf-8"), format=pyoxigraph.RdfFormat.N_TRIPLES)
        kg._cache_put(key, store)
    try:
        # Bound as rdflib's initBindings and a remote store are: by a VALUES
        # clause at the end, written from the terms (pyoxigraph escapes them).
        # Its substitutions would need the variable in the SELECT clause.
        values = " ".join(
            [
                f"VALUES ({' '.join('?' + n for n in terms)})",
                f"{{ ({' '.join(map(str, terms.values()))}) }}",
            ]
        )
        result = store.query(f"{query.rstrip()}\n{values}\n" if terms else query, prefixes=PREFIXES)
    except SyntaxError as err:
        raise ParameterError(f"the SPARQL query does not parse: {err}") from err
    if isinstance(result, pyoxigraph.QueryBoolean):
        return bool(result)
    if isinstance(result, pyoxigraph.QuerySolutions):
        names = [v.value for v in result.variables]
        rows = [[_from_oxigraph(solution[name]) for name in names] for solution in result]
        return pd.DataFrame(rows, columns=names)
    graph = Graph()
    for triple in result:
        graph.add(tuple(_to_rdflib(term) for term in triple))
    return graph


def _rdflib(
    kg: KnowledgeGraph, query: str, base: str, terms: dict[Any, Any]
) -> pd.DataFrame | bool | Graph:
    from pyparsing import ParseException

    key = ("sparql", "rdflib", base)
    graph = kg._cached(key)
    if graph is None:
        from kgmed.rdf._export import to_rdf

        graph = to_rdf(kg, base=base)
        kg._cache_put(key, graph)
    try:
        result = graph.query(query, initNs=PREFIXES, initBindings=terms or None)
    except ParseException as err:
        raise ParameterError(f"the SPARQL query does not parse: {err}") from err
    if result.type == "ASK":
        return bool(result.askAnswer)
    if result.type == "SELECT":
        names = [str(v) for v in result.vars or ()]
        rows = [[_from_rdflib(value) for value in row] for row in result]
        return pd.DataFrame(rows, columns=names)
    out = Graph()
    out += result.graph
    return out


def literal_value(lexical: str, datatype: str | None) -> Any:
    """A literal as a Python value by its datatype: int, float, bool, else the text."""
    try:
        if datatype in _INTEGERS:
            return int(lexical)
        if datatype in _FLOATS:
            return float(lexical.replace("INF", "inf"))
    except ValueError:
        return lexical
    if datatype == str(XSD.boolean) and lexical in ("true", "1", "false", "0"):
        return lexical in ("true", "1")
    return lexical


def _from_oxigraph(term: Any) -> Any:
    if term is None:
        return None
    datatype = getattr(term, "datatype", None)
    if datatype is not None:
        return literal_value(term.value, datatype.value)
    return term.value


def _from_rdflib(term: Any) -> Any:
    if term is None:
        return None
    if isinstance(term, Literal):
        datatype = str(term.datatype) if term.datatype is not None else str(XSD.string)
        return literal_value(str(term), datatype)
    return str(term)


def _to_rdflib(term: Any) -> Any:
    import pyoxigraph
    from rdflib import BNode

    if isinstance(term, pyoxigraph.NamedNode):
        return URIRef(term.value)
    if isinstance(term, pyoxigraph.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))
