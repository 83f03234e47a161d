"""kgmed's ontology and SHACL shapes, and validation of exports against them."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from rdflib import Graph

from kgmed.errors import ParameterError

if TYPE_CHECKING:
    from kgmed.graph import KnowledgeGraph

__all__ = ["ontology", "shapes", "validate"]

#: Columns of :func:`validate`'s result.
VIOLATION_COLUMNS: tuple[str, ...] = ("focus", "path", "value", "constraint", "severity", "message")


def _ontology_file(name: str) -> Path:
    """A file of ``ontologies/``: installed with the package, or in the source tree."""
    installed = resources.files("kgmed") / "ontologies" / name
    if installed.is_file():
        return Path(str(installed))
    return Path(__file__).resolve().parents[2] / "ontologies" / name


@functools.lru_cache(maxsize=2)
def _parsed(name: str) -> Graph:
    return Graph().parse(_ontology_file(name), format="turtle")


def ontology() -> Graph:
    """The kgmed ontology (``ontologies/kgmed.ttl``): classes, properties, alignments.

    Returns
    -------
    rdflib.Graph
        A fresh copy; changing it does not change later calls.

    Examples
    --------
    >>> import kgmed
    >>> from rdflib import OWL, RDF
    >>> (kgmed.rdf.ONTOLOGY_IRI, RDF.type, OWL.Ontology) in kgmed.rdf.ontology()
    True
    """
    copy = Graph()
    copy += _parsed("kgmed.ttl")
    return copy


def shapes() -> Graph:
    """The SHACL shapes every kgmed export satisfies (``ontologies/kgmed-shapes.ttl``).

    Examples
    --------
    >>> import kgmed
    >>> len(kgmed.rdf.shapes()) > 0
    True
    """
    copy = Graph()
    copy += _parsed("kgmed-shapes.ttl")
    return copy


def validate(data: KnowledgeGraph | Graph, *, shapes_graph: Graph | None = None) -> pd.DataFrame:
    """Check RDF against kgmed's SHACL shapes with pySHACL.

    Parameters
    ----------
    data : KnowledgeGraph or rdflib.Graph
        A graph (exported with the default options first) or an export.
    shapes_graph : rdflib.Graph, optional
        Other shapes to check against; kgmed's own by default.

    Returns
    -------
    pandas.DataFrame
        One row per violation, columns ``focus`` (the node at fault),
        ``path`` (the property), ``value``, ``constraint`` (the SHACL
        constraint component), ``severity`` and ``message``; empty when the
        data conforms.

    Raises
    ------
    ParameterError
        If ``data`` is neither a KnowledgeGraph nor an rdflib Graph.

    Examples
    --------
    >>> import kgmed
    >>> kg = kgmed.build(kgmed.datasets.synthetic(2000, random_state=0))
    >>> kgmed.rdf.validate(kg).empty
    True
    """
    from pyshacl import validate as shacl_validate
    from rdflib.namespace import RDF, SH

    from kgmed.graph import KnowledgeGraph

    if isinstance(data, KnowledgeGraph):
        from kgmed.rdf._export import to_rdf

        data = to_rdf(data)
    if not isinstance(data, Graph):
        raise ParameterError(
            f"validate() takes a KnowledgeGraph or an rdflib.Graph, got {type(data).__name__}"
        )
    shape_graph = shapes_graph if shapes_graph is not None else _parsed("kgmed-shapes.ttl")
    _, report, text = shacl_validate(
        data,
        shacl_graph=shape_graph,
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        advanced=True,
    )
    if not isinstance(report, Graph):  # pySHACL could not run the shapes at all
        raise ParameterError(f"the shapes cannot be used: {text}")
    rows: list[dict[str, Any]] = []
    for result in report.subjects(RDF.type, SH.ValidationResult):

        def value(prop: Any, result: Any = result) -> str | None:
            found = report.value(result, prop)
            return None if found is None else str(found)

        rows.append(
            {
                "focus": value(SH.focusNode),
                "path": value(SH.resultPath),
                "value": value(SH.value),
                "constraint": value(SH.sourceConstraintComponent),
                "severity": value(SH.resultSeverity),
                "message": value(SH.resultMessage),
            }
        )
    table = pd.DataFrame(rows, columns=list(VIOLATION_COLUMNS))
    return table.sort_values(["focus", "path"], kind="stable", na_position="last").reset_index(
        drop=True
    )
