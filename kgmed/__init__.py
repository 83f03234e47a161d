"""kgmed: medical knowledge graphs from patient records.

Records go in; out comes a disease–symptom–treatment graph whose every edge
carries the evidence behind it (how many patients, how strong, how
significant), and the means to question it.

Examples
--------
>>> import kgmed
>>> kg = kgmed.build(kgmed.datasets.synthetic(3000, random_state=0))
>>> kg.treatments_for("asthma")["label"].iloc[0]
'albuterol'
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kgmed import (
        cohorts,
        datasets,
        knowledge,
        linking,
        matching,
        models,
        privacy,
        query,
        rdf,
        reasoning,
        schema,
        viz,
    )
    from kgmed.build import build, graph_from_rules, recorded_reasons
    from kgmed.errors import (
        ColumnNotFound,
        ConceptKindError,
        ConceptNotFound,
        EmptyRecordsError,
        GraphError,
        GraphFileError,
        KgmedError,
        MissingDependencyError,
        MissingValueError,
        ParameterError,
        RecordsError,
        RecordsFileError,
        RecordsFileNotFound,
        ResourceLimitError,
        TripleStoreError,
        UnknownKindError,
    )
    from kgmed.graph import KnowledgeGraph, load
    from kgmed.knowledge import read_columbia_kb, read_hetionet
    from kgmed.mining import mine_rules, transactions
    from kgmed.records import (
        Records,
        RecordsReport,
        read_fhir,
        read_omop,
        read_records,
        read_synthea,
    )

    __version__: str

# Every public name is imported when it is first used, so that ``import
# kgmed`` (and the ``kgmed`` command's --help) does not load pandas, numpy,
# networkx, rdflib and scikit-learn until something needs them.
_FROM: dict[str, str] = {
    "build": "kgmed.build",
    "graph_from_rules": "kgmed.build",
    "recorded_reasons": "kgmed.build",
    "ColumnNotFound": "kgmed.errors",
    "ConceptKindError": "kgmed.errors",
    "ConceptNotFound": "kgmed.errors",
    "EmptyRecordsError": "kgmed.errors",
    "GraphError": "kgmed.errors",
    "GraphFileError": "kgmed.errors",
    "KgmedError": "kgmed.errors",
    "MissingDependencyError": "kgmed.errors",
    "MissingValueError": "kgmed.errors",
    "ParameterError": "kgmed.errors",
    "RecordsError": "kgmed.errors",
    "RecordsFileError": "kgmed.errors",
    "RecordsFileNotFound": "kgmed.errors",
    "ResourceLimitError": "kgmed.errors",
    "TripleStoreError": "kgmed.errors",
    "UnknownKindError": "kgmed.errors",
    "KnowledgeGraph": "kgmed.graph",
    "load": "kgmed.graph",
    "read_columbia_kb": "kgmed.knowledge",
    "read_hetionet": "kgmed.knowledge",
    "mine_rules": "kgmed.mining",
    "transactions": "kgmed.mining",
    "Records": "kgmed.records",
    "RecordsReport": "kgmed.records",
    "read_fhir": "kgmed.records",
    "read_omop": "kgmed.records",
    "read_records": "kgmed.records",
    "read_synthea": "kgmed.records",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kgmed")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    """Import a public name, or a submodule (``kgmed.errors``), on first use."""
    if name == "__version__":
        value: Any = _version()
    elif name in _FROM:
        value = getattr(importlib.import_module(_FROM[name]), name)
    elif name.startswith("__"):
        raise AttributeError(f"module 'kgmed' has no attribute {name!r}")
    else:
        try:
            value = importlib.import_module(f"kgmed.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"kgmed.{name}":
                raise
            raise AttributeError(f"module 'kgmed' has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The ``kgmed`` module: ``kgmed.build`` stays the function.

    Importing the submodule ``kgmed.build`` (``from kgmed.build import
    MIN_WEIGHT``) would bind the module to the name ``build``; the function
    of that name is what ``kgmed.build`` means, as when every name was
    imported up front.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "build" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = [
    "ColumnNotFound",
    "ConceptKindError",
    "ConceptNotFound",
    "EmptyRecordsError",
    "GraphError",
    "GraphFileError",
    "KgmedError",
    "KnowledgeGraph",
    "MissingDependencyError",
    "MissingValueError",
    "ParameterError",
    "Records",
    "RecordsError",
    "RecordsFileError",
    "RecordsFileNotFound",
    "RecordsReport",
    "ResourceLimitError",
    "TripleStoreError",
    "UnknownKindError",
    "__version__",
    "build",
    "cohorts",
    "datasets",
    "graph_from_rules",
    "knowledge",
    "linking",
    "load",
    "matching",
    "mine_rules",
    "models",
    "privacy",
    "query",
    "rdf",
    "read_columbia_kb",
    "read_fhir",
    "read_hetionet",
    "read_omop",
    "read_records",
    "read_synthea",
    "reasoning",
    "recorded_reasons",
    "schema",
    "transactions",
    "viz",
]
