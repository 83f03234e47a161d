"""Exceptions raised by kgmed, rooted at :class:`KgmedError`.

Each subclass also inherits the builtin exception a Python user would reach
for (``ValueError``, ``KeyError``, ``FileNotFoundError``), so that code which
already catches those keeps working, as scikit-learn's ``NotFittedError`` is
both a ``ValueError`` and an ``AttributeError``.
"""

from __future__ import annotations

__all__ = [
    "ColumnNotFound",
    "ConceptKindError",
    "ConceptNotFound",
    "EmptyRecordsError",
    "GraphError",
    "GraphFileError",
    "KgmedError",
    "MissingDependencyError",
    "MissingValueError",
    "ParameterError",
    "RecordsError",
    "RecordsFileError",
    "RecordsFileNotFound",
    "ResourceLimitError",
    "TripleStoreError",
    "UnknownKindError",
]


class KgmedError(Exception):
    """Base class of every error kgmed raises on purpose.

    Examples
    --------
    >>> import kgmed
    >>> try:
    ...     kgmed.build(kgmed.datasets.synthetic(100, random_state=0), min_support=2)
    ... except kgmed.KgmedError as err:
    ...     print(type(err).__name__)
    ParameterError
    """


class ParameterError(KgmedError, ValueError):
    """A parameter is out of its range or of the wrong type."""


class MissingDependencyError(KgmedError, ImportError):
    """An optional dependency a feature needs is not installed.

    The message names the extra that installs it, such as
    ``pip install "kgmed[spark]"`` for ``algorithm="spark"``.
    """


class RecordsError(KgmedError, ValueError):
    """Records cannot be read as given: wrong shape, columns or values."""


class ColumnNotFound(RecordsError):
    """A column the reader needs is not in the table."""


class EmptyRecordsError(RecordsError):
    """The table holds no usable observation."""


class MissingValueError(RecordsError):
    """A value that must be present (such as a patient id) is missing."""


class UnknownKindError(RecordsError):
    """A ``kind`` value is not one of :data:`kgmed.schema.KINDS`."""


class RecordsFileError(RecordsError):
    """A records file exists but cannot be parsed (not CSV, bad encoding)."""


class RecordsFileNotFound(RecordsError, FileNotFoundError):
    """A records file does not exist."""


class _MessageKeyError(KeyError):
    # KeyError.__str__ shows repr(message), quotes and escaped newlines
    # included; a user-facing message should read as written.
    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConceptNotFound(KgmedError, _MessageKeyError):
    """A term names no concept in the graph.

    The message lists the closest known labels. ``term`` holds the term as
    given and ``suggestions`` the closest labels.
    """

    def __init__(self, message: str, *, term: str = "", suggestions: tuple[str, ...] = ()):
        super().__init__(message)
        self.term = term
        self.suggestions = suggestions


class ConceptKindError(KgmedError, ValueError):
    """A concept exists but is of the wrong kind for the question asked."""


class GraphError(KgmedError, ValueError):
    """The graph lacks what a question needs (diseases, a relation, counts)."""


class GraphFileError(KgmedError, ValueError):
    """A file given to :func:`kgmed.load` is not a saved kgmed graph."""


class ResourceLimitError(KgmedError, MemoryError):
    """A request would need more memory than its budget (``max_memory=``).

    Raised before the work starts. The message gives the estimate and what
    to change; ``estimate`` and ``budget`` hold both in bytes.

    Examples
    --------
    >>> import kgmed, pandas as pd
    >>> one = pd.DataFrame({"patient_id": "p1", "concept": [f"c{i}" for i in range(3000)],
    ...                     "kind": "symptom"})
    >>> try:
    ...     kgmed.build(one, min_patients=1, max_memory="1GiB")
    ... except kgmed.ResourceLimitError as err:
    ...     print(f"{err.estimate / 2**30:.1f} GiB over {err.budget / 2**30:.0f} GiB")
    10.5 GiB over 1 GiB
    """

    def __init__(self, message: str, *, estimate: float, budget: float):
        super().__init__(message)
        self.estimate = estimate
        self.budget = budget


class TripleStoreError(KgmedError, OSError):
    """A triple store cannot be reached, refuses the credentials or rejects a request.

    The message names the endpoint. ``status`` holds the HTTP status the
    server answered with, or None when no answer came (server unreachable,
    timeout); ``endpoint`` the URL that was contacted.
    """

    def __init__(self, message: str, *, status: int | None = None, endpoint: str = ""):
        super().__init__(message)
        self.status = status
        self.endpoint = endpoint
