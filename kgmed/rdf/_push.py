"""Push a graph to a triple store over HTTP, and query the store back.

Only the standard library speaks HTTP here: the SPARQL 1.1 Graph Store HTTP
Protocol to write (with SPARQL 1.1 Update as a fallback) and the SPARQL 1.1
Protocol to read.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from rdflib import BNode, Graph

from kgmed.errors import ParameterError, TripleStoreError
from kgmed.graph import KnowledgeGraph
from kgmed.rdf._bindings import values_clause
from kgmed.rdf._export import serialize, to_rdf
from kgmed.rdf._sparql import literal_value
from kgmed.rdf._terms import DEFAULT_BASE, check_base

__all__ = ["PushResult", "push", "query"]

# Answers by which a URL says it does not speak the Graph Store Protocol.
_NOT_GRAPH_STORE = frozenset({404, 405, 415, 501})
_IRI_RE = re.compile(r'^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>"{}|\\^`]+$')
_ANSWER_CHARS = 300


@dataclass(frozen=True)
class PushResult:
    """What :func:`push` sent, where, and how.

    Attributes
    ----------
    endpoint : str
        The URL the triples were sent to: the Graph Store endpoint, or the
        SPARQL Update endpoint when the store did not speak the Graph Store
        Protocol.
    graph : str or None
        The named graph written, None for the default graph.
    triples : int
        How many triples were sent.
    chunks : int
        How many requests carried them.
    method : str
        ``"graph-store"`` (SPARQL 1.1 Graph Store HTTP Protocol) or
        ``"sparql-update"`` (``INSERT DATA`` through SPARQL 1.1 Update).
    seconds : float
        Wall-clock time of the whole push, export included.

    Examples
    --------
    >>> from kgmed.rdf import PushResult
    >>> result = PushResult("http://127.0.0.1:7878/store", None, 120, 1, "graph-store", 0.1)
    >>> result.triples, result.method
    (120, 'graph-store')
    """

    endpoint: str
    graph: str | None
    triples: int
    chunks: int
    method: str
    seconds: float


def push(
    kg_or_graph: KnowledgeGraph | Graph,
    endpoint: str,
    *,
    graph: str | None = None,
    auth: tuple[str, str] | str | None = None,
    replace: bool = True,
    update_endpoint: str | None = None,
    chunk_size: int = 50_000,
    timeout: float = 60.0,
    base: str = DEFAULT_BASE,
    evidence: bool = True,
) -> PushResult:
    """Send a graph to a triple store over HTTP.

    The triples travel as N-Triples (UTF-8) in chunks of ``chunk_size``, by
    the SPARQL 1.1 Graph Store HTTP Protocol: the first chunk with ``PUT``,
    which replaces the graph, the others with ``POST``, which adds to it.
    When the endpoint answers that it does not speak that protocol (HTTP
    404, 405, 415 or 501) and a SPARQL Update endpoint is known, the same
    chunks go as ``INSERT DATA`` requests instead, after ``DROP SILENT`` of
    the graph when replacing.

    Parameters
    ----------
    kg_or_graph : KnowledgeGraph or rdflib.Graph
        What to send. A graph is exported first with
        :func:`kgmed.rdf.to_rdf` (``base=``, ``evidence=``).
    endpoint : str
        The store's Graph Store Protocol URL. A URL with no path, such as
        ``"http://127.0.0.1:7878"``, is taken as an Oxigraph server, whose
        Graph Store endpoint is ``/store`` and SPARQL Update endpoint
        ``/update``.
    graph : str, optional
        The IRI of the named graph to write: absolute, with no spaces,
        quotes, angle brackets or braces. None writes the store's default
        graph.
    auth : tuple of (str, str) or str, optional
        ``(user, password)`` for HTTP Basic authentication, or a token sent
        as ``Authorization: Bearer <token>``. The password or token never
        appears in an error message.
    replace : bool, default True
        Replace what the graph held. False adds the triples to it.
    update_endpoint : str, optional
        The SPARQL Update URL used when ``endpoint`` does not speak the
        Graph Store Protocol. Defaults to ``/update`` for a URL with no path
        (Oxigraph), and to none otherwise.
    chunk_size : int, default 50000
        Triples per request.
    timeout : float, default 60.0
        Seconds to wait for each answer.
    base : str, default "https://w3id.org/kgmed/id/"
        As in :func:`kgmed.rdf.to_rdf`; used for a KnowledgeGraph only.
    evidence : bool, default True
        As in :func:`kgmed.rdf.to_rdf`; used for a KnowledgeGraph only.

    Returns
    -------
    PushResult
        The URL written to, the graph, the numbers of triples and requests,
        the method used and the time taken.

    Raises
    ------
    ParameterError
        If an argument is of the wrong type or out of range: ``graph`` not
        an absolute IRI, ``auth`` neither a pair nor a string, ``chunk_size``
        below 1, an endpoint that is not an ``http(s)`` URL or carries a
        password; or if an ``rdflib.Graph`` with blank nodes would need more
        than one request (a blank node cannot span requests; skolemize it
        with ``graph.skolemize()`` or raise ``chunk_size``).
    TripleStoreError
        If the store cannot be reached, refuses the credentials (``status``
        401 or 403) or rejects a request (``status`` holds the HTTP status,
        the message the start of the server's answer). Chunks sent before
        the failure stay in the store.

    See Also
    --------
    query : Run a SPARQL SELECT on the store afterwards.
    kgmed.rdf.to_rdf : The export that is sent.

    Notes
    -----
    The same call reaches the usual stores through their Graph Store URLs:

    - Oxigraph (``oxigraph serve --bind 127.0.0.1:7878``):
      ``push(kg, "http://127.0.0.1:7878", graph=...)``; ``/store`` and
      ``/update`` are found by themselves.
    - Apache Jena Fuseki: ``endpoint="http://host:3030/<dataset>/data"``,
      ``update_endpoint="http://host:3030/<dataset>/update"``, usually with
      ``auth=("admin", password)`` (HTTP Basic).
    - Ontotext GraphDB:
      ``endpoint="http://host:7200/repositories/<repo>/rdf-graphs/service"``,
      ``update_endpoint="http://host:7200/repositories/<repo>/statements"``,
      with ``auth=(user, password)`` (HTTP Basic) when security is on.

    A query sees a named graph through a ``GRAPH <iri> { ... }`` clause,
    unless the store takes the union of its graphs as the default graph
    (Oxigraph's ``--union-default-graph``, Fuseki's ``unionDefaultGraph``).

    No patient identifier is in the export (see :func:`kgmed.rdf.to_rdf`),
    so none is sent.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    >>> len(kgmed.rdf.to_rdf(kg)) > 5_000
    True
    >>> result = kgmed.rdf.push(
    ...     kg, "http://127.0.0.1:7878", graph="https://example.org/graphs/synthetic"
    ... )  # doctest: +SKIP
    >>> result.method, result.chunks  # doctest: +SKIP
    ('graph-store', 1)
    """
    start = time.perf_counter()
    if not isinstance(kg_or_graph, (KnowledgeGraph, Graph)):
        raise ParameterError(
            f"push sends a KnowledgeGraph or an rdflib.Graph, got {type(kg_or_graph).__name__}"
        )
    graph_iri = _check_graph(graph)
    connection = _Connection.make(auth, timeout)
    if not isinstance(replace, bool):
        raise ParameterError(f"replace must be True or False, got {replace!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ParameterError(
            f"chunk_size must be a whole number of triples >= 1, got {chunk_size!r}"
        )
    store_url, default_update = _endpoints(endpoint, "store", "update")
    if update_endpoint is not None:
        update_url: str | None = _check_url(update_endpoint, "update_endpoint")
    else:
        update_url = default_update
    if isinstance(kg_or_graph, KnowledgeGraph):
        rdf = to_rdf(kg_or_graph, base=check_base(base), evidence=evidence)
    else:
        rdf = kg_or_graph

    lines = serialize(rdf, "nt").splitlines()
    chunks = [lines[i : i + chunk_size] for i in range(0, len(lines), chunk_size)]
    if len(chunks) > 1 and any(isinstance(term, BNode) for triple in rdf for term in triple):
        raise ParameterError(
            f"the graph has blank nodes and {len(lines)} triples, more than one request of "
            f"chunk_size={chunk_size}; a blank node cannot span requests: skolemize the graph "
            "(graph.skolemize()) or raise chunk_size"
        )

    target = _with_graph(store_url, graph_iri)
    try:
        sent = _push_graph_store(connection, target, chunks, replace)
        method, used = "graph-store", store_url
    except _NotGraphStore as err:
        if update_url is None:
            raise TripleStoreError(
                f"{target} answered HTTP {err.status}: it does not look like a SPARQL Graph "
                "Store endpoint. Give the store's Graph Store URL (Oxigraph: http://host:7878/store; "
                "Fuseki: http://host:3030/<dataset>/data; GraphDB: "
                "http://host:7200/repositories/<repo>/rdf-graphs/service), or update_endpoint= "
                "to send SPARQL Update instead",
                status=err.status,
                endpoint=target,
            ) from None
        sent = _push_sparql_update(connection, update_url, graph_iri, chunks, replace)
        method, used = "sparql-update", update_url
    return PushResult(
        endpoint=used,
        graph=graph_iri,
        triples=len(lines),
        chunks=sent,
        method=method,
        seconds=time.perf_counter() - start,
    )


def query(
    endpoint: str,
    sparql: str,
    *,
    auth: tuple[str, str] | str | None = None,
    timeout: float = 60.0,
    bindings: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """Run a SPARQL SELECT on a triple store and return its rows.

    The query goes by the SPARQL 1.1 Protocol (an HTML form ``POST``) and
    the answer comes back as SPARQL JSON results.

    Parameters
    ----------
    endpoint : str
        The store's SPARQL query URL. A URL with no path, such as
        ``"http://127.0.0.1:7878"``, is taken as an Oxigraph server, whose
        query endpoint is ``/query``. Fuseki's is
        ``http://host:3030/<dataset>/query`` (or ``/sparql``), GraphDB's
        ``http://host:7200/repositories/<repo>``.
    sparql : str
        A ``SELECT`` query (an ``ASK`` gives one column ``boolean``).
        A named graph is read through a ``GRAPH <iri> { ... }`` clause.
    auth : tuple of (str, str) or str, optional
        As in :func:`push`.
    timeout : float, default 60.0
        Seconds to wait for the answer.
    bindings : mapping of str to object, optional
        Values for variables of the query, as in :func:`kgmed.rdf.sparql`:
        each becomes an RDF term written by pyoxigraph (a string is an
        escaped literal, an ``rdflib.URIRef`` a checked IRI) in a ``VALUES``
        clause added at the end of the query, so a user's term is never
        pasted into its text. The query must not end with a ``VALUES``
        clause of its own.

    Returns
    -------
    pandas.DataFrame
        One column per variable of the query, in its order. IRIs and plain
        literals come as ``str``, typed literals as ``int``, ``float`` or
        ``bool`` by their XSD datatype (``str`` otherwise), unbound values
        as None.

    Raises
    ------
    ParameterError
        If an argument is of the wrong type.
    TripleStoreError
        If the store cannot be reached, refuses the credentials or rejects
        the query (the message carries the start of the server's answer).

    See Also
    --------
    push : Send a graph to the store.

    Examples
    --------
    >>> import kgmed
    >>> symptoms = '''
    ... PREFIX kgmed: <https://w3id.org/kgmed/vocab#>
    ... PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
    ... SELECT ?symptom ?patients WHERE {
    ...   GRAPH <https://example.org/graphs/synthetic> {
    ...     ?disease skos:prefLabel "influenza" .
    ...     ?a a kgmed:Association ; kgmed:subject ?disease ;
    ...        kgmed:predicate kgmed:hasSymptom ; kgmed:object ?s ; kgmed:nPatients ?patients .
    ...     ?s skos:prefLabel ?symptom .
    ...   }
    ... } ORDER BY DESC(?patients)
    ... '''
    >>> rows = kgmed.rdf.query("http://127.0.0.1:7878", symptoms)  # doctest: +SKIP
    >>> list(rows.columns)  # doctest: +SKIP
    ['symptom', 'patients']
    """
    if not isinstance(sparql, str) or not sparql.strip():
        raise ParameterError("sparql must be the text of a SPARQL query")
    clause = values_clause(bindings)
    if clause:
        sparql = f"{sparql.rstrip()}\n{clause}\n"
    connection = _Connection.make(auth, timeout)
    url, _ = _endpoints(endpoint, "query", None)
    headers = {
        "Accept": "application/sparql-results+json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    body = urllib.parse.urlencode({"query": sparql}).encode("utf-8")
    answer = connection.send(url, "POST", body, headers)
    try:
        results = json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TripleStoreError(
            f"{url} did not answer with SPARQL JSON results: "
            f"{_excerpt(answer, connection.secrets)!r}; is it the store's query endpoint?",
            endpoint=url,
        ) from None
    if not isinstance(results, dict):
        raise TripleStoreError(f"{url} answered JSON that is not SPARQL results", endpoint=url)
    if "boolean" in results:
        return pd.DataFrame({"boolean": [bool(results["boolean"])]})
    names = [str(name) for name in results.get("head", {}).get("vars", [])]
    solutions = results.get("results", {}).get("bindings", [])
    columns: dict[str, pd.Series] = {}
    for name in names:
        values = [_value(row.get(name)) for row in solutions]
        if not values or any(value is None for value in values):
            columns[name] = pd.Series(values, dtype=object)
        else:
            columns[name] = pd.Series(values)
    return pd.DataFrame(columns, columns=names)


def _value(term: Mapping[str, Any] | None) -> Any:
    """A SPARQL JSON term as a Python value."""
    if term is None:
        return None
    kind = term.get("type")
    value = term.get("value")
    if kind == "bnode":
        return f"_:{value}"
    if kind in ("literal", "typed-literal") and isinstance(value, str):
        return literal_value(value, term.get("datatype"))
    return value


class _NotGraphStore(Exception):
    """The first Graph Store request met an answer saying the URL does not speak it."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET and drop its body; a
    # redirect is reported instead, with the URL to use.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass(frozen=True)
class _Connection:
    """How to talk to a store: the credentials' header, the secrets to hide, the timeout."""

    headers: Mapping[str, str]
    secrets: tuple[str, ...]
    has_auth: bool
    timeout: float

    @classmethod
    def make(cls, auth: object, timeout: object) -> _Connection:
        return cls(_auth_headers(auth), _secrets(auth), auth is not None, _check_timeout(timeout))

    def send(self, url: str, method: str, body: bytes, headers: Mapping[str, str]) -> bytes:
        """One HTTP request; the answer's body, or a TripleStoreError naming ``url``."""
        from kgmed import __version__

        request = urllib.request.Request(
            url,
            data=body,
            method=method,
            headers={
                "User-Agent": f"kgmed/{__version__}",
                "Accept": "*/*",
                **headers,
                **self.headers,
            },
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                answer: bytes = response.read()
                return answer
        except urllib.error.HTTPError as err:
            try:
                text = err.read()
            except (OSError, http.client.HTTPException):
                text = b""
            finally:
                err.close()
            raise self._refusal(url, method, err.code, err.reason, err.headers, text) from None
        except urllib.error.URLError as err:
            raise self._unreachable(url, err.reason) from None
        except (OSError, http.client.HTTPException) as err:
            raise self._unreachable(url, err) from None

    def _unreachable(self, url: str, reason: object) -> TripleStoreError:
        if isinstance(reason, TimeoutError):
            why = f"no answer within {self.timeout:g} s; raise timeout= if the server is slow"
        elif isinstance(reason, OSError) and reason.strerror:
            why = reason.strerror
        else:
            why = str(reason) or type(reason).__name__
        return TripleStoreError(
            f"the triple store at {url} is not reachable ({why}); "
            "check that the server is running and that the URL is right",
            endpoint=url,
        )

    def _refusal(
        self, url: str, method: str, status: int, reason: str, headers: Any, text: bytes
    ) -> TripleStoreError:
        phrase = f"HTTP {status} {reason or ''}".rstrip()
        if status in (401, 403):
            if self.has_auth:
                message = (
                    f"{url} refused the credentials ({phrase}); pass the right ones with "
                    "auth=(user, password) for HTTP Basic or auth='<token>' for a bearer token"
                )
                if status == 403:
                    message += ", for a user allowed to do this"
            else:
                message = (
                    f"{url} asks for credentials ({phrase}); pass auth=(user, password) for "
                    "HTTP Basic or auth='<token>' for a bearer token"
                )
            return TripleStoreError(message, status=status, endpoint=url)
        if 300 <= status < 400:
            location = headers.get("Location") if headers is not None else None
            where = f" to {location}" if location else ""
            return TripleStoreError(
                f"{url} redirects{where} ({phrase}); give that URL instead",
                status=status,
                endpoint=url,
            )
        excerpt = _excerpt(text, self.secrets)
        said = f": {excerpt}" if excerpt else " with no explanation"
        return TripleStoreError(
            f"{url} rejected the {method} request ({phrase}){said}", status=status, endpoint=url
        )


def _push_graph_store(
    connection: _Connection, url: str, chunks: list[list[str]], replace: bool
) -> int:
    headers = {"Content-Type": "application/n-triples; charset=utf-8"}
    if not chunks and replace:
        chunks = [[]]  # a PUT of nothing empties the graph
    for index, lines in enumerate(chunks):
        method = "PUT" if replace and index == 0 else "POST"
        try:
            connection.send(url, method, _ntriples(lines), headers)
        except TripleStoreError as err:
            if index == 0 and err.status in _NOT_GRAPH_STORE:
                raise _NotGraphStore(err.status) from err
            raise
    return len(chunks)


def _push_sparql_update(
    connection: _Connection,
    url: str,
    graph: str | None,
    chunks: list[list[str]],
    replace: bool,
) -> int:
    headers = {"Content-Type": "application/sparql-update; charset=utf-8"}
    drop = f"DROP SILENT GRAPH <{graph}>" if graph is not None else "DROP SILENT DEFAULT"
    if not chunks:
        if replace:
            connection.send(url, "POST", drop.encode("utf-8"), headers)
            return 1
        return 0
    for index, lines in enumerate(chunks):
        data = _ntriples(lines).decode("utf-8")
        if graph is not None:
            data = f"GRAPH <{graph}> {{\n{data}}}\n"
        update = f"INSERT DATA {{\n{data}}}\n"
        if replace and index == 0:
            # One request: a store that runs a request as one transaction replaces atomically.
            update = f"{drop} ;\n{update}"
        connection.send(url, "POST", update.encode("utf-8"), headers)
    return len(chunks)


def _ntriples(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _excerpt(text: bytes, secrets: tuple[str, ...]) -> str:
    """The start of a server's answer, on one line, without any secret."""
    decoded = " ".join(text.decode("utf-8", errors="replace").split())
    for secret in secrets:
        decoded = decoded.replace(secret, "***")
    if len(decoded) > _ANSWER_CHARS:
        decoded = decoded[:_ANSWER_CHARS] + "…"
    return decoded


def _check_graph(graph: str | None) -> str | None:
    if graph is None:
        return None
    if not isinstance(graph, str) or not _IRI_RE.match(graph):
        raise ParameterError(
            "graph must be None (the default graph) or an absolute IRI with no spaces or "
            f'<>"{{}}|\\^` characters, such as "https://example.org/graphs/kgmed", got {graph!r}'
        )
    return str(graph)


def _auth_headers(auth: object) -> dict[str, str]:
    if auth is None:
        return {}
    if isinstance(auth, str):
        if not auth or any(c in auth for c in "\r\n"):
            raise ParameterError("a bearer token must be a non-empty string on one line")
        return {"Authorization": f"Bearer {auth}"}
    if (
        isinstance(auth, tuple)
        and len(auth) == 2
        and all(isinstance(part, str) for part in auth)
        and ":" not in auth[0]
    ):
        pair = f"{auth[0]}:{auth[1]}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    raise ParameterError(
        "auth must be None, a (user, password) pair of strings for HTTP Basic (no ':' in the "
        f"user) or a token string for a bearer token, got a {type(auth).__name__}"
    )


def _secrets(auth: object) -> tuple[str, ...]:
    """What an error message must never show: the token, the password and their encoding."""
    if isinstance(auth, str):
        return (auth,)
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(a, str) for a in auth):
        pair = f"{auth[0]}:{auth[1]}".encode()
        encoded = base64.b64encode(pair).decode("ascii")
        return (encoded, auth[1]) if auth[1] else (encoded,)
    return ()


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ParameterError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)


def _check_url(url: object, name: str) -> str:
    if not isinstance(url, str):
        raise ParameterError(f"{name} must be an http(s) URL string, got {type(url).__name__}")
    parts = urllib.parse.urlsplit(url)
    if parts.password is not None or "@" in parts.netloc:
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        raise ParameterError(
            f"{name} carries credentials; give the URL without them ({shown}) and pass "
            "auth=(user, password)"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", url):
        raise ParameterError(
            f"{name} must be an http:// or https:// URL such as 'http://127.0.0.1:7878', got {url!r}"
        )
    try:
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        raise ParameterError(f"{name} has a port that is not a number: {url!r}") from None
    return url


def _endpoints(endpoint: object, service: str, update: str | None) -> tuple[str, str | None]:
    """The URL to use for ``service``, and the update URL Oxigraph's layout implies."""
    url = _check_url(endpoint, "endpoint")
    parts = urllib.parse.urlsplit(url)
    if parts.path in ("", "/") and not parts.query:
        root = urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        return f"{root}/{service}", (f"{root}/{update}" if update else None)
    return url, None


def _with_graph(url: str, graph: str | None) -> str:
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    if graph is None:
        return f"{url}{separator}default"
    return f"{url}{separator}graph={urllib.parse.quote(graph, safe='')}"
