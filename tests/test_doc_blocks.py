"""Every code block in README.md and docs/ runs.

Python blocks are doctests (``>>>``), which pytest runs through
``--doctest-glob=*.md``. Shell blocks run here, each file's blocks in order
in one fresh folder, with the package's own ``kgmed`` and ``python`` first on
the PATH; ``http://127.0.0.1:7878`` is replaced by a real Oxigraph server
started for the test, and ``../shared/data`` by the third-party data folder.
SPARQL blocks run against the graph of the bundled sample. A block that
cannot run here (a server kgmed does not ship, a cluster, the test command
itself) says why in a ``<!-- not run: ... -->`` comment just above it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import kgmed

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(
    r"^(?P<fence>`{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.S | re.M
)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(?P<reason>[^>]*?)\s*-->\s*$")
SHELL = {"bash", "sh", "shell", "console"}
# Blocks that show data or output, not code to run.
SHOWN = {"text", "turtle", "csv", "json", "tsv", "output"}
LOCAL_SERVER = "http://127.0.0.1:7878"


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    body: str
    not_run: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").splitlines()
        reason = NOT_RUN.search(before[-1]) if before else None
        found.append(
            Block(
                page=page,
                line=text[: match.start()].count("\n") + 1,
                lang=match.group("info").strip().split(" ")[0],
                body=match.group("body"),
                not_run=reason.group("reason") if reason else None,
            )
        )
    return found


ALL = [block for page in PAGES for block in blocks(page)]


def test_the_pages_have_blocks() -> None:
    assert len(ALL) > 100
    assert {block.page.name for block in ALL} >= {"README.md", "tutorial.md", "cli.md"}


@pytest.mark.parametrize("block", ALL, ids=lambda b: b.where)
def test_every_block_runs_or_says_why_not(block: Block) -> None:
    """A block is a doctest, a shell or SPARQL block run below, data shown, a
    directive for the docs site, or marked with the reason it cannot run."""
    if block.not_run is not None:
        assert len(block.not_run) > 10, f"{block.where}: say why the block cannot run"
        return
    if block.lang == "python":
        assert ">>>" in block.body, f"{block.where}: write Python blocks as doctests (>>>)"
    elif block.lang.startswith("{"):
        directives = ("{eval-rst}", "{toctree}", "{autosummary}", "{figure}", "{image}", "{note}")
        assert block.lang in directives, f"{block.where}: an unknown directive {block.lang}"
    else:
        assert block.lang in SHELL | SHOWN | {"sparql"}, (
            f"{block.where}: a block needs a language (bash, python, text, ...)"
        )


def test_few_blocks_are_left_unrun() -> None:
    unrun = [block.where for block in ALL if block.not_run is not None]
    assert len(unrun) <= 10, unrun


def _commands(body: str) -> str:
    """A shell block as a script: ``pip install`` steps are what this
    environment already did, so they are left out."""
    lines = []
    for line in body.replace("\\\n", " ").splitlines():
        line = re.sub(r"^\$ ", "", line.strip())  # a console prompt
        line = re.sub(r"^pip install [^&]*(&&\s*)?", "", line)
        if line:
            lines.append(line)
    return "\n".join(lines)


SHELL_PAGES = sorted({block.page for block in ALL if block.lang in SHELL and block.not_run is None})


@pytest.mark.parametrize("page", SHELL_PAGES, ids=lambda p: p.name)
def test_shell_blocks_run(page: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    shell = [b for b in blocks(page) if b.lang in SHELL and b.not_run is None]
    script = "\n".join(_commands(b.body) for b in shell)
    if LOCAL_SERVER in script:
        server: str = request.getfixturevalue("oxigraph_server")
        script = script.replace(LOCAL_SERVER, server)
    if "../shared/data" in script:
        shared: Path = request.getfixturevalue("shared_data")
        script = script.replace("../shared/data", str(shared))
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("COLUMNS", None)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{page.name}:\n{script}\n--- stderr ---\n{done.stderr}"
    assert "Traceback" not in done.stderr


def test_the_cli_page_shows_what_the_commands_print(tmp_path: Path) -> None:
    """docs/cli.md quotes an error message and a status; they are what the command prints."""
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert main_output(["demo", "--out", str(tmp_path)]) == 0
    graph = str(tmp_path / "graph.json")
    done = subprocess.run(
        [sys.executable, "-m", "kgmed", "query", graph, "symptoms-of", "influenzza"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    quoted = re.search(r"prints `(kgmed: error: [^`]*)`", page)
    assert quoted is not None
    assert done.stderr.strip() == " ".join(quoted.group(1).split())


def main_output(args: list[str]) -> int:
    from kgmed.cli import main

    return main(args)


SPARQL = [block for block in ALL if block.lang == "sparql" and block.not_run is None]


@pytest.fixture(scope="module")
def sample_kg() -> kgmed.KnowledgeGraph:
    records = kgmed.read_records(
        ROOT / "examples" / "data" / "records.csv", code="code", system="system"
    )
    return kgmed.build(records)


@pytest.mark.parametrize("block", SPARQL, ids=lambda b: b.where)
def test_sparql_blocks_run_on_a_store(
    block: Block, sample_kg: kgmed.KnowledgeGraph, oxigraph_server: str
) -> None:
    """The sample graph goes to each named graph the query reads, then the query runs there."""
    for graph in re.findall(r"GRAPH\s*<([^>]+)>", block.body) or [None]:
        kgmed.rdf.push(sample_kg, oxigraph_server, graph=graph)
    rows = kgmed.rdf.query(oxigraph_server, block.body)
    assert len(rows), f"{block.where}: the query found nothing in the sample graph"
