"""The command starts light: --help and -V load none of the scientific stack.

``import kgmed`` imports its public names on first use (PEP 562), so the
command's help and version need only click. No timing is asserted: what is
checked is which modules a fresh interpreter has loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import kgmed
from kgmed import cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "numpy", "scipy", "networkx", "rdflib", "sklearn", "mlxtend", "pyvis")
SUBCOMMANDS = ["build", "query", "paths", "link", "export", "push", "html", "demo"]


def _loaded_after(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; the heavy modules it left loaded, and its output."""
    script = (
        "import contextlib, io, json, sys\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'out': out.getvalue()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    "args",
    [["--help"], ["-V"], ["--version"], *[[name, "--help"] for name in SUBCOMMANDS]],
    ids=" ".join,
)
def test_help_and_version_load_no_scientific_module(args):
    found = _loaded_after(
        f"from kgmed.cli import main\nstatus = main({args!r})\nassert status == 0"
    )
    assert found["heavy"] == []
    assert str(found["out"]).startswith(("Usage: kgmed", "kgmed "))


def test_the_check_above_sees_a_heavy_import():
    # The same check fails where the command does load pandas: a query reads a graph.
    found = _loaded_after("import kgmed\nkgmed.Records")
    assert "pandas" in found["heavy"]


def test_import_kgmed_loads_nothing_heavy_until_a_name_is_used():
    found = _loaded_after("import kgmed\nprint(kgmed.__version__, kgmed.errors.KgmedError)")
    assert found["heavy"] == []
    assert str(found["out"]).startswith(kgmed.__version__)


def test_every_public_name_resolves_and_is_listed():
    for name in kgmed.__all__:
        assert getattr(kgmed, name) is not None, name
    assert set(kgmed.__all__) <= set(dir(kgmed))
    assert kgmed.Records is kgmed.records.Records
    assert kgmed.KgmedError is kgmed.errors.KgmedError


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'kgmed' has no attribute 'no_such_name'"):
        _ = kgmed.no_such_name
    assert not hasattr(kgmed, "__no_such_dunder__")


def test_kgmed_build_stays_the_function_once_its_module_is_imported():
    # Importing the submodule kgmed.build first would otherwise bind the module
    # to kgmed.build; the function is what kgmed.build means.
    found = _loaded_after(
        "import kgmed\n"
        "from kgmed.build import MIN_WEIGHT\n"
        "import kgmed.cohorts\n"
        "print(callable(kgmed.build), kgmed.build.__module__)\n"
        "from kgmed import build\n"
        "print(build is kgmed.build)"
    )
    assert str(found["out"]).split() == ["True", "kgmed.build", "True"]


def test_the_options_show_the_library_choices():
    from kgmed.build import MIN_WEIGHT
    from kgmed.mining.rules import ALGORITHMS
    from kgmed.records import BASKETS

    assert cli._BASKETS == BASKETS
    assert cli._ALGORITHMS == ALGORITHMS
    assert cli._MIN_WEIGHT == MIN_WEIGHT
