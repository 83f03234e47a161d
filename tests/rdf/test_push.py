"""kgmed.rdf.push and kgmed.rdf.query against a real Oxigraph server, and their errors."""

from __future__ import annotations

import base64
import http.server
import math
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

import kgmed
from kgmed.rdf import PushResult, push, query, to_rdf
from kgmed.rdf._sparql import _FLOATS, _INTEGERS

GRAPHS = "https://example.org/kgmed-tests/"
PASSWORD = "s3cret-Pa55word"

# Oxigraph keeps numbers by value: every integer type comes back as
# xsd:integer, and lexical forms come back canonical ("1.50" as "1.5").
INTEGER_TYPES = _INTEGERS
NUMBER_TYPES = _FLOATS

TRIPLES = """
SELECT ?s ?p (STR(?o) AS ?lexical) (DATATYPE(?o) AS ?datatype) (LANG(?o) AS ?lang)
       (isIRI(?o) AS ?iri)
WHERE {{ {pattern} }}
"""

SYMPTOMS_OF_INFLUENZA = """
PREFIX kgmed: <https://w3id.org/kgmed/vocab#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?symptom ?label ?patients ?lift WHERE {{
  {scope} {{
    ?disease skos:prefLabel "influenza" .
    ?association a kgmed:Association ;
        kgmed:subject ?disease ;
        kgmed:predicate kgmed:hasSymptom ;
        kgmed:object ?symptom ;
        kgmed:nPatients ?patients ;
        kgmed:lift ?lift .
    ?symptom skos:prefLabel ?label .
  }}
}}
ORDER BY DESC(?patients) ?label
"""


@pytest.fixture(scope="module")
def small_kg() -> kgmed.KnowledgeGraph:
    return kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))


@pytest.fixture(scope="module")
def other_kg() -> kgmed.KnowledgeGraph:
    return kgmed.build(kgmed.datasets.synthetic(1500, random_state=1))


def comparable(term: Any) -> tuple[Any, ...]:
    """An object as Oxigraph gives it back: IRIs and strings as they are, numbers by value."""
    if isinstance(term, Literal):
        lexical = str(term)
        datatype = str(term.datatype) if term.datatype is not None else None
        language = term.language or None
        if datatype is None and language is None:
            datatype = str(XSD.string)
        return _literal(lexical, datatype, language)
    return ("iri", str(term))


def _literal(lexical: str, datatype: str | None, language: str | None) -> tuple[Any, ...]:
    if language:
        return ("lang", lexical, language.lower())
    if datatype in INTEGER_TYPES:
        return ("integer", int(lexical))
    if datatype in NUMBER_TYPES:
        return (datatype, float(lexical))
    return (datatype, lexical)


def local_triples(graph: Graph) -> set[tuple[str, str, tuple[Any, ...]]]:
    return {(str(s), str(p), comparable(o)) for s, p, o in graph}


def remote_triples(url: str, graph: str | None) -> set[tuple[str, str, tuple[Any, ...]]]:
    pattern = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
    rows = query(url, TRIPLES.format(pattern=pattern))
    found = set()
    for s, p, lexical, datatype, language, iri in rows.itertuples(index=False):
        obj = ("iri", lexical) if iri else _literal(lexical, datatype, language or None)
        found.add((s, p, obj))
    return found


def count(url: str, graph: str | None) -> int:
    pattern = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
    rows = query(url, f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")
    return int(rows["n"].iloc[0])


# --- pushing to a real server -------------------------------------------------------------


def test_push_named_graph_round_trips(oxigraph_server: str, small_kg: kgmed.KnowledgeGraph) -> None:
    graph = GRAPHS + "named"
    local = to_rdf(small_kg)
    result = push(small_kg, oxigraph_server, graph=graph)
    assert isinstance(result, PushResult)
    assert result == PushResult(
        endpoint=oxigraph_server + "/store",
        graph=graph,
        triples=len(local),
        chunks=1,
        method="graph-store",
        seconds=result.seconds,
    )
    assert result.seconds >= 0
    assert count(oxigraph_server, graph) == len(local)
    assert remote_triples(oxigraph_server, graph) == local_triples(local)


def test_oxigraph_gives_integer_counts_back_as_xsd_integer(
    oxigraph_server: str, small_kg: kgmed.KnowledgeGraph
) -> None:
    # What a user sees when reading the store: the values are kept, the
    # derived integer datatypes are not.
    graph = GRAPHS + "datatypes"
    push(small_kg, oxigraph_server, graph=graph)
    rows = query(
        oxigraph_server,
        f"SELECT DISTINCT (DATATYPE(?n) AS ?datatype) WHERE {{ GRAPH <{graph}> "
        "{ ?a <https://w3id.org/kgmed/vocab#nPatients> ?n } }",
    )
    assert rows["datatype"].tolist() == [str(XSD.integer)]


def test_neighbour_query_matches_the_local_graph(
    oxigraph_server: str, small_kg: kgmed.KnowledgeGraph
) -> None:
    graph = GRAPHS + "neighbours"
    push(small_kg, oxigraph_server, graph=graph)
    # The same query, on the store's named graph and on the local graph.
    remote = query(oxigraph_server, SYMPTOMS_OF_INFLUENZA.format(scope=f"GRAPH <{graph}>"))
    rows = to_rdf(small_kg).query(SYMPTOMS_OF_INFLUENZA.format(scope=""))
    local = [tuple(term.toPython() for term in row) for row in rows]

    assert list(remote.columns) == ["symptom", "label", "patients", "lift"]
    assert len(local) >= 3
    assert [tuple(row) for row in remote.itertuples(index=False)] == local
    assert all(isinstance(n, int) for n in remote["patients"])
    assert all(isinstance(x, float) for x in remote["lift"])
    assert "fever" in set(remote["label"])
    # The same numbers as the graph itself.
    edges = small_kg.edges("has_symptom")
    flu = edges[edges["source"] == small_kg.resolve("influenza")]
    expected = {
        str(kgmed.rdf.concept_iri(target)): int(n)
        for target, n in zip(flu["target"], flu["n_patients"], strict=True)
    }
    assert dict(zip(remote["symptom"], remote["patients"], strict=True)) == expected


def test_replace_twice_does_not_double(
    oxigraph_server: str, small_kg: kgmed.KnowledgeGraph
) -> None:
    graph = GRAPHS + "replace"
    first = push(small_kg, oxigraph_server, graph=graph)
    second = push(small_kg, oxigraph_server, graph=graph)
    assert first.triples == second.triples == count(oxigraph_server, graph)


def test_replace_false_adds_and_replace_true_replaces(
    oxigraph_server: str, small_kg: kgmed.KnowledgeGraph, other_kg: kgmed.KnowledgeGraph
) -> None:
    graph = GRAPHS + "append"
    a, b = to_rdf(small_kg), to_rdf(other_kg)
    union = a + b
    assert len(a) < len(union)  # the two graphs differ
    assert len(b) < len(union)

    push(small_kg, oxigraph_server, graph=graph)
    added = push(other_kg, oxigraph_server, graph=graph, replace=False)
    assert added.triples == len(b)
    assert count(oxigraph_server, graph) == len(union)
    assert remote_triples(oxigraph_server, graph) == local_triples(union)

    push(other_kg, oxigraph_server, graph=graph)
    assert count(oxigraph_server, graph) == len(b)


def test_small_chunks_give_the_same_graph(
    oxigraph_server: str, small_kg: kgmed.KnowledgeGraph
) -> None:
    graph = GRAPHS + "chunks"
    local = to_rdf(small_kg)
    push(small_kg, oxigraph_server, graph=graph, chunk_size=len(local))  # something to replace
    result = push(small_kg, oxigraph_server, graph=graph, chunk_size=500)
    assert result.chunks == math.ceil(len(local) / 500) > 1
    assert result.triples == len(local)
    # Only the first chunk replaces: the later ones must not wipe the earlier.
    assert count(oxigraph_server, graph) == len(local)
    assert remote_triples(oxigraph_server, graph) == local_triples(local)


def test_default_graph(oxigraph_server: str, small_kg: kgmed.KnowledgeGraph) -> None:
    local = to_rdf(small_kg, evidence=False)
    result = push(small_kg, oxigraph_server, evidence=False)
    assert result.graph is None
    assert result.method == "graph-store"
    assert count(oxigraph_server, None) == len(local)
    assert remote_triples(oxigraph_server, None) == local_triples(local)


def test_base_and_evidence_reach_the_export(
    oxigraph_server: str, small_kg: kgmed.KnowledgeGraph
) -> None:
    graph = GRAPHS + "base"
    base = "https://example.org/kg/"
    local = to_rdf(small_kg, base=base, evidence=False)
    result = push(small_kg, oxigraph_server, graph=graph, base=base, evidence=False)
    assert result.triples == len(local) < len(to_rdf(small_kg))
    assert remote_triples(oxigraph_server, graph) == local_triples(local)


def test_push_an_rdflib_graph(oxigraph_server: str) -> None:
    graph = GRAPHS + "rdflib"
    local = Graph()
    thing = URIRef("https://example.org/thing")
    local.add((thing, URIRef("https://example.org/label"), Literal('naïve "quoted"\nline')))
    local.add((thing, URIRef("https://example.org/label"), Literal("grippe", lang="fr")))
    local.add((thing, URIRef("https://example.org/n"), Literal(3)))
    local.add((thing, URIRef("https://example.org/x"), Literal(0.25)))
    local.add((URIRef("https://example.org/é/ü"), URIRef("https://example.org/p"), thing))
    result = push(local, oxigraph_server, graph=graph)
    assert result.triples == 5
    assert remote_triples(oxigraph_server, graph) == local_triples(local)


def test_blank_nodes_in_one_request(oxigraph_server: str) -> None:
    graph = GRAPHS + "blank"
    local = Graph()
    node = BNode()
    local.add((URIRef("https://example.org/a"), URIRef("https://example.org/p"), node))
    local.add((node, URIRef("https://example.org/q"), Literal("x")))
    push(local, oxigraph_server, graph=graph)
    rows = query(
        oxigraph_server,
        f"SELECT ?x WHERE {{ GRAPH <{graph}> {{ <https://example.org/a> "
        "<https://example.org/p>/<https://example.org/q> ?x } }",
    )
    assert rows["x"].tolist() == ["x"]
    with pytest.raises(kgmed.ParameterError, match="blank nodes"):
        push(local, oxigraph_server, graph=graph, chunk_size=1)


def test_sparql_update_fallback(
    oxigraph_server: str, small_kg: kgmed.KnowledgeGraph, other_kg: kgmed.KnowledgeGraph
) -> None:
    graph = GRAPHS + "fallback"
    local = to_rdf(small_kg)
    update = oxigraph_server + "/update"
    for _ in range(2):  # the second push replaces (DROP), it does not add
        result = push(
            small_kg,
            oxigraph_server + "/nope",  # Oxigraph answers 404 there
            graph=graph,
            update_endpoint=update,
            chunk_size=4000,
        )
        assert result.method == "sparql-update"
        assert result.endpoint == update
        assert result.chunks == math.ceil(len(local) / 4000)
        assert count(oxigraph_server, graph) == len(local)
    assert remote_triples(oxigraph_server, graph) == local_triples(local)

    other = push(
        other_kg,
        oxigraph_server + "/nope",
        graph=graph,
        update_endpoint=update,
        replace=False,
    )
    assert other.method == "sparql-update"
    assert count(oxigraph_server, graph) > len(local)


def test_sparql_update_fallback_to_the_default_graph(oxigraph_server: str) -> None:
    # Its own server state: the default graph is shared, so write a marker only.
    local = Graph()
    local.add(
        (
            URIRef("https://example.org/fallback-default"),
            URIRef("https://example.org/p"),
            Literal("x"),
        )
    )
    result = push(
        local,
        oxigraph_server + "/nope",
        update_endpoint=oxigraph_server + "/update",
        replace=False,
    )
    assert result.method == "sparql-update"
    rows = query(
        oxigraph_server,
        "ASK { <https://example.org/fallback-default> <https://example.org/p> 'x' }",
    )
    assert rows["boolean"].tolist() == [True]


def test_query_converts_values(oxigraph_server: str) -> None:
    rows = query(
        oxigraph_server,
        "SELECT ?iri ?unbound (1 AS ?int) (1.5 AS ?decimal) (2.5e0 AS ?double) (true AS ?bool) "
        '("x"@en AS ?lang) ("y" AS ?text) WHERE { BIND(<https://example.org/z> AS ?iri) '
        "OPTIONAL { ?iri <https://example.org/none> ?unbound } }",
    )
    assert list(rows.columns) == [
        "iri",
        "unbound",
        "int",
        "decimal",
        "double",
        "bool",
        "lang",
        "text",
    ]
    assert rows.iloc[0].tolist() == ["https://example.org/z", None, 1, 1.5, 2.5, True, "x", "y"]
    empty = query(oxigraph_server, "SELECT ?s WHERE { ?s <https://example.org/never> ?o }")
    assert list(empty.columns) == ["s"]
    assert empty.empty


# --- privacy ------------------------------------------------------------------------------


def test_no_patient_id_reaches_the_store(
    oxigraph_server: str, synthetic_records: kgmed.Records, kg: kgmed.KnowledgeGraph
) -> None:
    graph = GRAPHS + "privacy"
    push(kg, oxigraph_server, graph=graph)
    rows = query(oxigraph_server, f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    text = rows.to_csv(index=False)
    assert len(rows) == len(to_rdf(kg))
    ids = sorted(set(synthetic_records.data["patient_id"].astype(str)), key=len, reverse=True)
    assert len(ids) == 3000
    alternatives = "|".join(map(re.escape, ids))
    pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")
    assert pattern.search(f"a {ids[0]} b")  # the search would see one
    assert pattern.search(text) is None


# --- errors -------------------------------------------------------------------------------


class _Store(http.server.BaseHTTPRequestHandler):
    """Answers every request with the status and text of its server."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, text = self.server.answer(self.headers.get("Authorization", ""))  # type: ignore[attr-defined]
        body = text.encode("utf-8")
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="store"')
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_store() -> Iterator[Callable[[Callable[[str], tuple[int, str]]], str]]:
    """Start an HTTP server on 127.0.0.1 answering as a function of the Authorization header."""
    servers: list[tuple[http.server.ThreadingHTTPServer, threading.Thread]] = []

    def start(answer: Callable[[str], tuple[int, str]]) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Store)
        server.answer = answer  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


def _free_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_unreachable_store_names_the_url(small_kg: kgmed.KnowledgeGraph) -> None:
    url = _free_url()
    with pytest.raises(kgmed.TripleStoreError, match="not reachable") as info:
        push(small_kg, url, graph=GRAPHS + "x", timeout=5)
    assert info.value.status is None
    assert url + "/store" in str(info.value)
    assert isinstance(info.value, OSError)
    with pytest.raises(kgmed.TripleStoreError, match=re.escape(url + "/query")):
        query(url, "SELECT * WHERE { ?s ?p ?o }", timeout=5)


@pytest.mark.parametrize("auth", [("kgmed", PASSWORD), PASSWORD], ids=["basic", "bearer"])
def test_refused_login(
    fake_store: Callable[[Callable[[str], tuple[int, str]]], str],
    small_kg: kgmed.KnowledgeGraph,
    auth: tuple[str, str] | str,
) -> None:
    # The server even echoes the Authorization header: the message must not.
    url = fake_store(lambda authorization: (401, f"bad credentials: {authorization}"))
    with pytest.raises(kgmed.TripleStoreError, match="refused the credentials") as info:
        push(small_kg, url, graph=GRAPHS + "x", auth=auth)
    message = str(info.value)
    assert info.value.status == 401
    assert url in message
    assert "auth=" in message
    assert PASSWORD not in message
    assert base64.b64encode(f"kgmed:{PASSWORD}".encode()).decode() not in message


def test_login_needed(
    fake_store: Callable[[Callable[[str], tuple[int, str]]], str],
) -> None:
    url = fake_store(lambda authorization: (401 if not authorization else 200, ""))
    with pytest.raises(kgmed.TripleStoreError, match="asks for credentials") as info:
        query(url + "/sparql", "SELECT * WHERE { ?s ?p ?o }")
    assert info.value.status == 401


def test_credentials_are_sent(
    fake_store: Callable[[Callable[[str], tuple[int, str]]], str],
    small_kg: kgmed.KnowledgeGraph,
) -> None:
    seen: list[str] = []

    def answer(authorization: str) -> tuple[int, str]:
        seen.append(authorization)
        return 204, ""

    url = fake_store(answer)
    push(small_kg, url + "/data", graph=GRAPHS + "x", auth=("kgmed", PASSWORD))
    push(small_kg, url + "/data", graph=GRAPHS + "x", auth="token-1")
    expected = "Basic " + base64.b64encode(f"kgmed:{PASSWORD}".encode()).decode()
    assert seen == [expected, "Bearer token-1"]


def test_server_error_text_is_kept_without_secrets(
    fake_store: Callable[[Callable[[str], tuple[int, str]]], str],
    small_kg: kgmed.KnowledgeGraph,
) -> None:
    url = fake_store(lambda authorization: (500, f"boom ({authorization}) " + "x" * 1000))
    with pytest.raises(kgmed.TripleStoreError, match=r"HTTP 500.*boom") as info:
        push(small_kg, url + "/data", auth=("kgmed", PASSWORD))
    message = str(info.value)
    assert info.value.status == 500
    assert PASSWORD not in message
    assert base64.b64encode(f"kgmed:{PASSWORD}".encode()).decode() not in message
    assert len(message) < 600


def test_rejected_payload(oxigraph_server: str) -> None:
    # A relative IRI: rdflib writes it, Oxigraph's N-Triples parser refuses it.
    bad = Graph()
    bad.add((URIRef("relative"), URIRef("https://example.org/p"), Literal("x")))
    with pytest.raises(kgmed.TripleStoreError) as info:
        push(bad, oxigraph_server, graph=GRAPHS + "rejected")
    message = str(info.value)
    assert info.value.status == 400
    assert oxigraph_server + "/store" in message
    assert "Parser error" in message  # the server's own words
    assert count(oxigraph_server, GRAPHS + "rejected") == 0


def test_rejected_query(oxigraph_server: str) -> None:
    with pytest.raises(kgmed.TripleStoreError, match="HTTP 400") as info:
        query(oxigraph_server, "SELECT WHERE")
    assert info.value.status == 400
    assert oxigraph_server + "/query" in str(info.value)


def test_not_a_graph_store_without_update_endpoint(
    oxigraph_server: str, small_kg: kgmed.KnowledgeGraph
) -> None:
    # PUT to the query endpoint: Oxigraph answers 404.
    with pytest.raises(kgmed.TripleStoreError, match="Graph Store") as info:
        push(small_kg, oxigraph_server + "/query", graph=GRAPHS + "x")
    assert info.value.status == 404
    assert "update_endpoint=" in str(info.value)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"graph": "not an iri"}, "graph must be"),
        ({"graph": "relative/path"}, "graph must be"),
        ({"graph": "https://example.org/a b"}, "graph must be"),
        ({"graph": "https://example.org/<g>"}, "graph must be"),
        ({"graph": 42}, "graph must be"),
        ({"auth": ["kgmed", PASSWORD]}, "auth must be"),
        ({"auth": ("kgmed",)}, "auth must be"),
        ({"auth": ("kgmed", 1234)}, "auth must be"),
        ({"auth": 42}, "auth must be"),
        ({"auth": ""}, "token"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"chunk_size": -5}, "chunk_size"),
        ({"chunk_size": 2.5}, "chunk_size"),
        ({"chunk_size": True}, "chunk_size"),
        ({"timeout": 0}, "timeout"),
        ({"replace": "yes"}, "replace"),
        ({"update_endpoint": "ftp://example.org/update"}, "update_endpoint"),
        ({"base": "no-iri"}, "base"),
    ],
)
def test_bad_parameters(
    small_kg: kgmed.KnowledgeGraph, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(kgmed.ParameterError, match=match) as info:
        push(small_kg, "http://127.0.0.1:9", **options)
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    "endpoint", ["127.0.0.1:7878", "ftp://example.org/store", "http://", "http://a b/", 7878]
)
def test_bad_endpoints(small_kg: kgmed.KnowledgeGraph, endpoint: Any) -> None:
    with pytest.raises(kgmed.ParameterError, match="endpoint"):
        push(small_kg, endpoint)
    with pytest.raises(kgmed.ParameterError, match="endpoint"):
        query(endpoint, "SELECT * WHERE { ?s ?p ?o }")


def test_credentials_in_the_url_are_refused(small_kg: kgmed.KnowledgeGraph) -> None:
    with pytest.raises(kgmed.ParameterError, match="auth=") as info:
        push(small_kg, f"http://kgmed:{PASSWORD}@127.0.0.1:9/store")
    assert PASSWORD not in str(info.value)


def test_bad_inputs() -> None:
    with pytest.raises(kgmed.ParameterError, match=r"KnowledgeGraph or an rdflib\.Graph"):
        push("not a graph", "http://127.0.0.1:9")  # type: ignore[arg-type]
    with pytest.raises(kgmed.ParameterError, match="sparql"):
        query("http://127.0.0.1:9", "  ")
