"""Values for SPARQL variables, never pasted into the query text as given.

A user's term ("influenza", or a label with quotes and braces in it) reaches
a query as an RDF term: a literal, escaped by the RDF library that writes
it, or an IRI that has been checked. Local engines take the terms as they
are (pyoxigraph's substitutions, rdflib's ``initBindings``); a remote store
gets them in a ``VALUES`` clause written from those terms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from kgmed.errors import ParameterError

__all__ = ["oxigraph_terms", "values_clause"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_XSD = "http://www.w3.org/2001/XMLSchema#"


def oxigraph_terms(bindings: Mapping[str, object] | None) -> dict[str, Any]:
    r"""Each variable's value as a pyoxigraph term, by variable name (without ``?``).

    Strings become plain literals, ``bool``, ``int`` and finite ``float``
    typed literals, rdflib and pyoxigraph terms stay what they are (IRIs
    are checked). Anything else raises ParameterError.

    Examples
    --------
    >>> from kgmed.rdf._bindings import oxigraph_terms
    >>> {k: str(v) for k, v in oxigraph_terms({"?label": 'say "hi"', "n": 3}).items()}
    {'label': '"say \\"hi\\""', 'n': '"3"^^<http://www.w3.org/2001/XMLSchema#integer>'}
    """
    if bindings is None:
        return {}
    if not isinstance(bindings, Mapping):
        raise ParameterError(
            f"bindings must be a mapping of variable names to values, got {type(bindings).__name__}"
        )
    terms = {}
    for name, value in bindings.items():
        key = name[1:] if isinstance(name, str) and name[:1] in "?$" else name
        if not isinstance(key, str) or not _NAME.match(key):
            raise ParameterError(f"bindings: {name!r} is not a SPARQL variable name")
        terms[key] = _term(key, value)
    return terms


def _term(name: str, value: object) -> Any:
    import pyoxigraph
    from rdflib import BNode, Literal, URIRef

    if isinstance(value, (BNode, pyoxigraph.BlankNode)):
        raise ParameterError(
            f"bindings: ?{name} is a blank node, which a query cannot name; bind an IRI or a literal"
        )
    try:
        if isinstance(value, (pyoxigraph.NamedNode, pyoxigraph.Literal)):
            return value
        if isinstance(value, URIRef):
            return pyoxigraph.NamedNode(str(value))
        if isinstance(value, Literal):
            if value.language:
                return pyoxigraph.Literal(str(value), language=value.language)
            if value.datatype is not None:
                datatype = pyoxigraph.NamedNode(str(value.datatype))
                return pyoxigraph.Literal(str(value), datatype=datatype)
            return pyoxigraph.Literal(str(value))
        if isinstance(value, bool):
            return pyoxigraph.Literal(
                "true" if value else "false", datatype=pyoxigraph.NamedNode(_XSD + "boolean")
            )
        if isinstance(value, int):
            return pyoxigraph.Literal(str(value), datatype=pyoxigraph.NamedNode(_XSD + "integer"))
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ParameterError(f"bindings: ?{name} is {value!r}, not a finite number")
            return pyoxigraph.Literal(repr(value), datatype=pyoxigraph.NamedNode(_XSD + "double"))
        if isinstance(value, str):
            value.encode("utf-8")  # a lone surrogate cannot be written
            return pyoxigraph.Literal(value)
    except (ValueError, UnicodeEncodeError) as err:
        raise ParameterError(
            f"bindings: ?{name} = {value!r} is not a valid RDF term: {err}"
        ) from None
    kind = (
        "a blank node" if isinstance(value, (BNode, pyoxigraph.BlankNode)) else type(value).__name__
    )
    raise ParameterError(
        f"bindings: ?{name} must be a string, number, bool or an rdflib/pyoxigraph IRI or "
        f"literal, got {kind}"
    )


def values_clause(bindings: Mapping[str, object] | None) -> str:
    """A ``VALUES`` clause binding each variable, or '' for no bindings.

    Examples
    --------
    >>> from kgmed.rdf._bindings import values_clause
    >>> values_clause({"label": "influenza", "n": 3})
    'VALUES (?label ?n) { ("influenza" "3"^^<http://www.w3.org/2001/XMLSchema#integer>) }'
    """
    terms = oxigraph_terms(bindings)
    if not terms:
        return ""
    names = " ".join(f"?{name}" for name in terms)
    row = " ".join(str(term) for term in terms.values())
    return f"VALUES ({names}) {{ ({row}) }}"


def rdflib_terms(bindings: Mapping[str, object] | None) -> dict[Any, Any]:
    """The bindings as rdflib's ``initBindings`` take them."""
    from rdflib import Literal, URIRef, Variable

    out: dict[Any, Any] = {}
    for name, term in oxigraph_terms(bindings).items():
        if hasattr(term, "datatype"):
            if term.language:
                out[Variable(name)] = Literal(term.value, lang=term.language)
            elif term.datatype.value == _XSD + "string":
                out[Variable(name)] = Literal(term.value)
            else:
                out[Variable(name)] = Literal(term.value, datatype=URIRef(term.datatype.value))
        else:
            out[Variable(name)] = URIRef(term.value)
    return out
