"""The package lists every subpackage, and ships its ontology and shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "kgmed").rglob("__init__.py")
    }
    assert found <= listed, found - listed
    assert config["tool"]["setuptools"]["package-dir"]["kgmed.ontologies"] == "ontologies"
    assert {"kgmed-shapes.ttl", "kgmed.ttl"} <= {p.name for p in (ROOT / "ontologies").iterdir()}
