"""The ``kgmed`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import kgmed
from kgmed.errors import KgmedError
from kgmed.graph import KnowledgeGraph
from kgmed.mining.rules import ALGORITHMS

__all__ = ["main"]

# A cell starting with one of these is read as a formula by spreadsheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kgmed`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when kgmed rejects the input, 2 for
        a usage error.

    Examples
    --------
    >>> from kgmed.cli import main
    >>> main(["build", "no-such-file.csv"])
    1
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # Output piped into a program that stopped reading (``| head``):
        # not an error. Point stdout at devnull so exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KgmedError as err:
        print(f"kgmed: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        # An output folder that cannot be made or written (a file of that
        # name, no permission, disk full) is the user's to fix, not a crash.
        print(f"kgmed: error: {err}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kgmed",
        description="Build a medical knowledge graph from patient records.",
    )
    parser.add_argument("--version", action="version", version=f"kgmed {kgmed.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser(
        "build",
        help="records (CSV) -> knowledge graph, tables and a summary",
        description=(
            "Read patient records from a CSV file, build the knowledge graph, print "
            "a summary and write graph.json, graph.ttl, graph.html, nodes.csv, edges.csv, rules.csv and "
            "report.txt to the output folder. No patient identifier is written."
        ),
    )
    build.add_argument("records", help="CSV file, one observation per row")
    build.add_argument("--out", default="out", help="output folder (default: out)")
    build.add_argument("--patient", default="patient_id", help="patient id column")
    build.add_argument("--concept", default="concept", help="concept label column")
    build.add_argument("--kind", default="kind", help="kind column, or one kind for all rows")
    build.add_argument("--code", help="code column (default: 'code' if present)")
    build.add_argument(
        "--system", help="coding system column or name (default: 'system' if present)"
    )
    build.add_argument("--min-support", type=float, default=0.001)
    build.add_argument("--min-confidence", type=float, default=0.05)
    build.add_argument(
        "--min-patients",
        type=int,
        default=11,
        help="privacy floor: relations and concepts seen in fewer patients are left out (default: 11)",
    )
    build.add_argument("--max-len", type=int, default=2, help="longest rule mined (default: 2)")
    build.add_argument("--algorithm", choices=ALGORITHMS, default="auto")
    build.add_argument(
        "--top", type=_positive_int, default=5, help="relations shown per type (default: 5)"
    )
    build.set_defaults(run=_run_build)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _run_build(args: argparse.Namespace) -> int:
    path = Path(args.records)
    header = _header(path)
    code = args.code or ("code" if "code" in header else None)
    system = args.system or ("system" if "system" in header and code else None)
    records = kgmed.read_records(
        path,
        patient=args.patient,
        concept=args.concept,
        kind=args.kind,
        code=code,
        system=system,
    )
    kg = kgmed.build(
        records,
        min_support=args.min_support,
        min_confidence=args.min_confidence,
        min_patients=args.min_patients,
        max_len=args.max_len,
        algorithm=args.algorithm,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.txt"
    report.write_text(str(records.report) + "\n", encoding="utf-8")
    written = [
        kg.save(out / "graph.json"),
        kg.save(out / "graph.ttl"),
        kg.to_html(out / "graph.html"),
        _write_csv(kg.nodes(), out / "nodes.csv"),
        _write_csv(kg.edges(), out / "edges.csv"),
        _write_csv(_rules_table(kg), out / "rules.csv"),
        report,
    ]

    print(records.report)
    print()
    print(kg)
    print(kg.summary().to_string(index=False))
    for relation in ("has_symptom", "treated_with", "comorbid_with"):
        table = _strongest(kg, relation, args.top)
        if len(table):
            print(f"\nstrongest {relation} (by lift, q < 0.05)")
            print(table.to_string(index=False))
    suppressed = kg.params.get("n_concepts_suppressed", 0)
    if suppressed:
        print(
            f"\n{suppressed} concept(s) held by fewer than {kg.params['min_patients']} "
            f"patients were left out (privacy floor)."
        )
    print(f"\nwrote {', '.join(sorted(p.name for p in written))} to {out}/")
    return 0


def _header(path: Path) -> list[str]:
    """Column names of a CSV file, or [] when it cannot be read (the reader says why)."""
    try:
        return [str(c) for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns]
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError):
        return []


def _strongest(kg: KnowledgeGraph, relation: str, top: int) -> pd.DataFrame:
    edges = kg.edges(relation)
    edges = edges[(edges["q_value"] < 0.05) & (edges["lift"] > 1)]
    edges = edges.sort_values(["lift", "n_patients"], ascending=False).head(top)
    return edges[
        [
            "source_label",
            "target_label",
            "p_target_given_source",
            "p_source_given_target",
            "lift",
            "n_patients",
            "q_value",
        ]
    ].round({"p_target_given_source": 3, "p_source_given_target": 3, "lift": 2})


def _rules_table(kg: KnowledgeGraph) -> pd.DataFrame:
    rules = kg.rules.copy()
    for column in ("antecedents", "consequents"):
        rules[column] = ["; ".join(sorted(items)) for items in rules[column]]
    return rules


def _write_csv(table: pd.DataFrame, path: Path) -> Path:
    """Write a table as CSV, with text cells defused for spreadsheets."""
    safe = table.copy()
    for column in safe.columns:
        if pd.api.types.is_string_dtype(safe[column]) or safe[column].dtype == object:
            text = safe[column].astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                safe.loc[risky, column] = "'" + text[risky]
    safe.to_csv(path, index=False)
    return path


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
