"""The documentation stays complete: every public name is on the API page."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

import kgmed
from kgmed import mining, rdf, schema
from kgmed.records import core

ROOT = Path(__file__).resolve().parents[1]

API_PAGE = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")

# The pages of the generated API reference, and the modules whose public
# names they document.
REFERENCE_PAGES = "\n".join(
    path.read_text(encoding="utf-8") for path in sorted((ROOT / "docs" / "reference").glob("*.md"))
)
REFERENCED_MODULES = [
    "kgmed",
    "kgmed.build",
    "kgmed.graph",
    "kgmed.records",
    "kgmed.records.vocab",
    "kgmed.records.units",
    "kgmed.records.synthea",
    "kgmed.records.fhir",
    "kgmed.records.omop",
    "kgmed.mining",
    "kgmed.mining.spark",
    "kgmed.query",
    "kgmed.reasoning",
    "kgmed.matching",
    "kgmed.linking",
    "kgmed.cohorts",
    "kgmed.models",
    "kgmed.privacy",
    "kgmed.rdf",
    "kgmed.viz",
    "kgmed.knowledge",
    "kgmed.schema",
    "kgmed.datasets",
    "kgmed.errors",
]


@pytest.mark.parametrize("name", sorted(set(kgmed.__all__) - {"__version__"}))
def test_api_page_names_every_public_name(name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", API_PAGE), f"docs/api.md does not mention {name}"


@pytest.mark.parametrize(
    ("module", "name"),
    [(m, n) for m in (mining, schema, rdf) for n in m.__all__],
    ids=lambda x: getattr(x, "__name__", x),
)
def test_api_page_names_every_submodule_name(module: object, name: str) -> None:
    assert re.search(rf"\b{re.escape(name)}\b", API_PAGE), f"docs/api.md does not mention {name}"


@pytest.mark.parametrize(
    "obj",
    [
        getattr(kgmed, n)
        for n in kgmed.__all__
        if callable(getattr(kgmed, n))
        and not (isinstance(getattr(kgmed, n), type) and issubclass(getattr(kgmed, n), Exception))
    ]
    + [getattr(mining, n) for n in mining.__all__ if callable(getattr(mining, n))]
    + [core.Records.from_dataframe, core.Records.from_wide, kgmed.KnowledgeGraph.save],
    ids=lambda o: getattr(o, "__qualname__", repr(o)),
)
def test_public_callables_have_numpydoc_examples(obj: object) -> None:
    doc = getattr(obj, "__doc__", "") or ""
    assert "Examples\n" in doc or "Examples\r\n" in doc, f"{obj!r} has no Examples section"


@pytest.mark.parametrize(
    "qualname",
    [
        f"{module}.{name}"
        for module in REFERENCED_MODULES
        for name in importlib.import_module(module).__all__
        if name != "__version__"
        and not isinstance(getattr(importlib.import_module(module), name), ModuleType)
    ],
)
def test_api_reference_documents_every_public_name(qualname: str) -> None:
    name = qualname.rpartition(".")[2]
    assert re.search(rf"\b{re.escape(name)}\b", REFERENCE_PAGES), (
        f"no page of docs/reference/ documents {qualname}"
    )


def test_readme_links_point_to_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if "://" in target:
            continue
        assert (ROOT / target).exists(), f"README links to missing {target}"


def test_package_ships_py_typed() -> None:
    assert (ROOT / "kgmed" / "py.typed").is_file()
