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

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("kgmed")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

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
