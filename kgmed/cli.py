"""The ``kgmed`` command: build, question and export a knowledge graph from a shell.

Every subcommand prints for a person by default, and JSON for a script with
``--json``. The exit status means something: 0 on success, 1 when kgmed
rejects the input (a one-line ``kgmed: error: ...`` on standard error, no
traceback), 2 for a usage error (an unknown option, a missing argument).
Progress bars go to standard error, on a terminal only unless
``--progress`` asks for them.

The command is built on :mod:`click`; :func:`main` runs it.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import re
import shlex
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

import kgmed
from kgmed.errors import KgmedError, ParameterError, RecordsError
from kgmed.schema import KINDS

if TYPE_CHECKING:
    import pandas as pd

    from kgmed.graph import KnowledgeGraph
    from kgmed.records import Records, RecordsReport

# The command starts without pandas, numpy, networkx, rdflib or scikit-learn:
# ``kgmed --help`` and ``kgmed -V`` load none of them, and each subcommand
# imports what it needs when it runs. The choices and defaults its options
# show are therefore written here; tests/test_cli.py checks that they are the
# library's (kgmed.records.BASKETS, kgmed.mining.rules.ALGORITHMS,
# kgmed.build.MIN_WEIGHT).
_BASKETS: tuple[str, ...] = ("patient", "encounter")
_ALGORITHMS: tuple[str, ...] = ("auto", "pairs", "fpgrowth", "apriori", "spark")
_MIN_WEIGHT = 0.08

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])

# A cell starting with one of these is read as a formula by spreadsheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: The files ``kgmed build`` writes into its output folder.
BUILD_OUTPUTS: tuple[str, ...] = (
    "edges.csv",
    "graph.html",
    "graph.json",
    "graph.ttl",
    "nodes.csv",
    "report.txt",
    "rules.csv",
    "summary.json",
)
_FORMATS = ("auto", "csv", "synthea", "fhir", "omop")
_QUESTIONS = {
    "symptoms-of": "symptoms_of",
    "treatments-for": "treatments_for",
    "diseases-with": "diseases_with",
}
_EXPORTS = ("json", "turtle", "nt", "json-ld", "xml", "kgx", "csv")
_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kgmed`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when kgmed rejects the input (the
        message is one line on standard error), 2 for a usage error.

    Examples
    --------
    >>> from kgmed.cli import main
    >>> main(["build", "no-such-file.csv"])
    1
    >>> main(["--version"])  # doctest: +ELLIPSIS
    kgmed ...
    0
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Not cli.main(): click turns a broken pipe into status 1 there.
        with cli.make_context("kgmed", args) as context:
            result = cli.invoke(context)
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except click.exceptions.NoArgsIsHelpError as err:
        click.echo(err.ctx.get_help() if err.ctx else str(err))
        return 2
    except click.UsageError as err:
        err.show()
        return 2
    except click.ClickException as err:
        _error(err.format_message())
        return 1
    except click.Abort:
        _error("aborted")
        return 1
    except BrokenPipeError:
        # Output piped into a program that stopped reading (``| head``): not
        # an error. Point stdout at devnull so the exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except KgmedError as err:
        _error(_speak_options(str(err), cli.commands.get(args[0]) if args else None))
        return 1
    except OSError as err:
        # An output folder that cannot be made or written (a file of that
        # name, no permission, disk full) is the user's to fix.
        _error(str(err))
        return 1
    return result if isinstance(result, int) else 0


def _error(message: str, what: str = "error") -> None:
    """One line on standard error, however many the message had."""
    text = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
    click.echo(f"kgmed: {what}: {text}", err=True)


#: The library's messages name its keyword arguments ("pass sep=", "Pass
#: patient=<column>"); the command's name the options that set them. A keyword
#: is turned into its option only in a command that has that option.
_OPTION_OF = {
    "sep": "--sep",
    "encoding": "--encoding",
    "patient": "--patient",
    "concept": "--concept",
    "kind": "--kind",
    "code": "--code",
    "system": "--system",
    "encounter": "--encounter",
    "time": "--time",
    "age": "--age",
    "birth_date": "--birth-date",
    "sex": "--sex",
    "covariates": "--covariate",
    "chunksize": "--chunksize",
    "basket": "--basket",
    "kinds": "--kinds",
    "indicators": "--indicators",
    "format": "--format",
}
#: The readers' names, as the --format that chooses each.
_READER_FORMAT = {
    "read_records": "csv",
    "read_synthea": "synthea",
    "read_fhir": "fhir",
    "read_omop": "omop",
}
_READER_USES = re.compile(r"(?<![\w.])(" + "|".join(_READER_FORMAT) + r")\b(?!\()")
_KEYWORD = r"(?<![\w.-])(?P<keyword>" + "|".join(_OPTION_OF) + r")"
_KEYWORD_USES = re.compile(
    # kinds['symptom']=<column>: the option and its KIND=
    _KEYWORD + r"\[(?P<q>['\"])(?P<key>[^'\"]*)(?P=q)\]="
    # pass chunksize=None: leave the option out
    r"|(?P<none_keyword>pass " + _KEYWORD.replace("keyword", "none") + r")=None\b"
    # sep=';', basket='encounter': the option and its value
    r"|" + _KEYWORD.replace("keyword", "quoted") + r"=(?P<qq>['\"])(?P<value>[^'\"]*)(?P=qq)"
    # patient=<column>, sep= (nothing after it)
    r"|" + _KEYWORD.replace("keyword", "bare") + r"=(?P<after>[<\w{(\[-])?"
)


def _speak_options(message: str, command: click.Command | None = None) -> str:
    """``message`` with the library's keyword arguments named as the command's options.

    Examples
    --------
    >>> from kgmed.cli import _speak_options, cli
    >>> build = cli.commands["build"]
    >>> _speak_options("x.csv: found one column; Pass sep= if fields are split by ';'", build)
    "x.csv: found one column; Pass --sep if fields are split by ';'"
    >>> _speak_options("column 'pid' not found. Pass patient=<column> or rename it.", build)
    "column 'pid' not found. Pass --patient <column> or rename it."
    >>> _speak_options("pass encoding='latin-1' or the file's encoding", build)
    "pass --encoding latin-1 or the file's encoding"
    >>> _speak_options("Pass kinds['symptom']=<column> or rename the column.", build)
    'Pass --kinds symptom=<column> or rename the column.'
    >>> _speak_options("pass format=", cli.commands["query"])  # query has no --format
    'pass format='
    """
    if command is None:
        context = click.get_current_context(silent=True)
        command = context.command if context is not None else None
    if command is None:
        return message
    has = {opt for param in command.params for opt in param.opts}

    def option(keyword: str) -> str | None:
        name = _OPTION_OF[keyword]
        return name if name in has else None

    def replace(match: re.Match[str]) -> str:
        whole = match.group(0)
        if match.group("keyword"):
            name = option(match.group("keyword"))
            return f"{name} {match.group('key')}=" if name else whole
        if match.group("none"):
            name = option(match.group("none"))
            return f"leave out {name}" if name else whole
        if match.group("quoted"):
            name = option(match.group("quoted"))
            value = match.group("value")
            return f"{name} {shlex.quote(value)}" if name else whole
        name = option(match.group("bare"))
        after = match.group("after") or ""
        return f"{name} {after}" if name and after else (name or whole)

    message = _KEYWORD_USES.sub(replace, message)
    if "--format" in has:
        message = _READER_USES.sub(lambda m: f"--format {_READER_FORMAT[m.group(0)]}", message)
    return message


# -- shared options --------------------------------------------------------


def _json_option(function: F) -> F:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print JSON (for scripts) instead of text.",
    )(function)


def _progress_option(function: F) -> F:
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress bars on standard error (default: when it is a terminal).",
    )(function)


def _graph_argument(function: F) -> F:
    return click.argument("graph", type=click.Path(dir_okay=False, path_type=Path))(function)


def _load(path: Path) -> KnowledgeGraph:
    if path.is_dir():
        raise ParameterError(f"{path}: a folder, not a graph file (graph.json or graph.ttl)")
    return kgmed.load(path)


def _print_version(context: click.Context, _: click.Parameter, value: bool) -> None:
    # kgmed.__version__ is looked up when asked for, not when the command starts.
    if value and not context.resilient_parsing:
        click.echo(f"kgmed {kgmed.__version__}")
        context.exit()


@click.group(
    context_settings=_CONTEXT,
    no_args_is_help=True,
    epilog="""\b
Examples:
  kgmed demo --out demo/
  kgmed build visits.csv --out out/
  kgmed build synthea/csv/ --format synthea --out out/
  kgmed query out/graph.json symptoms-of influenza
  kgmed paths out/graph.json fever oseltamivir
  kgmed link out/graph.json fever "muscle pain" --json
  kgmed export out/graph.json --format nt --out graph.nt
  kgmed push out/graph.json http://127.0.0.1:7878 --graph urn:kgmed:demo
  kgmed html out/graph.json --focus influenza --out influenza.html

Run 'kgmed COMMAND --help' for a command's options. Exit status: 0 on
success, 1 when the input is rejected, 2 for a usage error.
""",
)
@click.option(
    "--version",
    "-V",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """Build a medical knowledge graph from patient records, and question it.

    Every relation carries its evidence (how many patients, how strong, how
    significant); no patient identifier leaves, and relations seen in fewer
    than 11 patients are left out unless --min-patients lowers that floor.
    """


# -- build and demo ---------------------------------------------------------


@cli.command(
    short_help="Read records, build the graph, write it to a folder.",
    epilog="""\b
Examples:
  kgmed build visits.csv --out out/
  kgmed build visits.csv --patient pid --concept term --kind symptom --out out/
  kgmed build visits.csv --encoding cp1252 --out out/
  kgmed build conditions.csv medications.csv --out out/
  kgmed build synthea/output/ --out out/        # the format is detected: output/csv
  kgmed build synthea/output/ --format fhir --out out/      # output/fhir
  kgmed build fhir/ more/bundle.json --format fhir --out out/
  kgmed build omop/ --format omop --basket encounter --out out/
  kgmed build dataset.csv --kinds disease=Disease --kinds 'symptom=Symptom_*' --out out/
  kgmed build cases.csv --patient case --kinds disease=diagnosis \\
      --indicators 'symptom=sym_*' --out out/
""",
)
@click.argument("records", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="auto",
    show_default=True,
    help="What RECORDS are: CSV files, a Synthea CSV folder, FHIR files or folders, "
    "an OMOP CDM folder. 'auto' tells from the files.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out"),
    show_default=True,
    help="Output folder.",
)
@click.option(
    "--patient",
    help="CSV: patient id column [default: patient_id; in a wide table none, each row is a case].",
)
@click.option("--concept", help="CSV: concept label column [default: concept].")
@click.option("--kind", help="CSV: kind column, or one kind for all rows [default: kind].")
@click.option("--code", help="CSV: code column (default: 'code' if present).")
@click.option("--system", help="CSV: coding system column or name (default: 'system' if present).")
@click.option("--encounter", help="CSV: encounter id column (needed for --basket encounter).")
@click.option("--age", help="CSV: the patient's age at each row (default: 'age' if present).")
@click.option(
    "--birth-date",
    help="CSV: birth date column (needs --time); ages are counted at the last observation.",
)
@click.option("--time", "time_column", help="CSV: observation date column.")
@click.option("--sex", help="CSV: the patient's sex (default: 'sex' if present).")
@click.option(
    "--covariate",
    "covariates",
    multiple=True,
    help="CSV: a column constant per patient to adjust for too (repeat the option; "
    "also give it to --adjust-for).",
)
@click.option(
    "--kinds",
    "kinds",
    multiple=True,
    metavar="KIND=COLUMN",
    help="CSV, wide table (one case per row): the column, or glob pattern of columns, whose "
    "cells are concepts of KIND, such as disease=Disease or 'symptom=Symptom_*' (repeat the "
    "option).",
)
@click.option(
    "--indicators",
    "indicators",
    multiple=True,
    metavar="KIND=COLUMN",
    help="CSV, wide table: one-hot columns (1/0, yes/no, true/false) named after concepts "
    "of KIND, such as symptom=itching or 'symptom=sym_*' (repeat the option).",
)
@click.option(
    "--sep",
    help="CSV: field separator (default: a tab for .tsv files, else found in the header "
    "among ',', ';', tab and '|').",
)
@click.option(
    "--encoding",
    help="Text encoding of the record files, such as utf-8 or cp1252 (default: the reader's).",
)
@click.option(
    "--chunksize",
    type=click.IntRange(min=1),
    help="CSV: read this many rows at a time (for files larger than memory).",
)
@click.option(
    "--basket",
    type=click.Choice(_BASKETS),
    default="patient",
    show_default=True,
    help="Count co-occurrence per patient or per encounter.",
)
@click.option("--min-support", type=float, default=0.001, show_default=True)
@click.option("--min-confidence", type=float, default=0.05, show_default=True)
@click.option(
    "--min-patients",
    type=int,
    default=11,
    show_default=True,
    help="Privacy floor: relations and concepts seen in fewer patients are left out.",
)
@click.option("--max-len", type=int, default=2, show_default=True, help="Longest rule mined.")
@click.option("--algorithm", type=click.Choice(_ALGORITHMS), default="auto", show_default=True)
@click.option(
    "--relations",
    type=click.Choice(["direct", "annotated", "association"]),
    default="direct",
    show_default=True,
    help="Judge disease -> symptom/treatment edges as direct relations (explaining away "
    "other diseases, age and sex), annotate them only, or judge them as associations.",
)
@click.option(
    "--keep",
    type=click.Choice(["significant", "all"]),
    default="significant",
    show_default=True,
    help="Keep only what holds (positive, significant, not explained by age and sex, "
    "material), or every tested pair, each marked with 'holds'.",
)
@click.option(
    "--max-q-value",
    type=float,
    default=0.05,
    show_default=True,
    help="False discovery rate every mined edge must pass.",
)
@click.option(
    "--min-lift",
    type=float,
    default=1.0,
    show_default=True,
    help="A mined edge's lift must be above this.",
)
@click.option(
    "--min-weight",
    type=float,
    default=_MIN_WEIGHT,
    show_default=True,
    help="Smallest direct weight that is material.",
)
@click.option(
    "--adjust-for",
    multiple=True,
    default=("age", "sex"),
    show_default=True,
    help="Patient attributes to adjust for (repeat the option); where the records know them.",
)
@click.option("--no-adjust", is_flag=True, help="Give crude figures only: adjust for nothing.")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Relations shown per type.",
)
@click.option(
    "--max-memory",
    help="Memory budget for mining, such as 8GiB (default: the memory available); "
    "a request that could need more stops with an estimate.",
)
@_progress_option
@_json_option
def build(records: tuple[Path, ...], out: Path, top: int, as_json: bool, **options: Any) -> None:
    """Read patient records, build the knowledge graph and write it to a folder.

    Writes graph.json (kgmed.load reads it back), graph.ttl (RDF), graph.html
    (an interactive page), nodes.csv, edges.csv, rules.csv, report.txt (what
    the reader kept and dropped) and summary.json, and prints a summary. No
    patient identifier is written.

    RECORDS are CSV files (one observation per row), a Synthea CSV export
    (its output/ folder reads output/csv, or output/fhir when that is all it
    holds), FHIR files or folders, or an OMOP CDM folder. A wide CSV table,
    one case per row (Disease, Symptom_1, ..., Symptom_17), is read with
    --kinds (columns of labels) and --indicators (one-hot columns named after
    concepts); without --patient each row is a case of its own, and a warning
    says so when most rows repeat another.
    """
    progress = options.pop("progress")
    data = _read(records, progress=progress, **options)
    kg = _build(data, progress=progress, **options)
    summary = _write_outputs(kg, data, out, progress=progress)
    if as_json:
        _echo_json(summary)
    else:
        _print_summary(kg, data, top)
        _print_written(out)


@cli.command(
    short_help="Run kgmed end to end on bundled synthetic records.",
    epilog="""\b
Examples:
  kgmed demo
  kgmed demo --out demo/ --patients 10000
""",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("kgmed-demo"),
    show_default=True,
    help="Output folder.",
)
@click.option(
    "--patients",
    type=click.IntRange(min=100),
    default=3000,
    show_default=True,
    help="How many synthetic patients.",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed.")
@_progress_option
@_json_option
def demo(out: Path, patients: int, seed: int, progress: bool | None, as_json: bool) -> None:
    """Run kgmed end to end on its bundled synthetic records.

    Writes the sample records (the ones bundled as examples/data/records.csv
    with the default options: synthetic patients from kgmed's own generator,
    with the case, spacing and duplicates of a real export) to OUT, reads
    them back, builds the graph, writes every file 'kgmed build' writes plus
    a patient page and a path page, and shows a query, a path and a patient
    linked to the knowledge.
    """
    out.mkdir(parents=True, exist_ok=True)
    source = out / "records.csv"
    frame = kgmed.datasets.synthetic(patients, random_state=seed, messy=True, as_frame=True)
    frame.to_csv(source, index=False)
    data = kgmed.read_records(source, code="code", system="system", progress=progress)
    kg = _build(data, progress=progress)
    summary = _write_outputs(kg, data, out, progress=progress)
    finding = ["fever", "muscle pain"]
    link = kg.link(finding)
    link.to_html(out / "patient.html")
    paths = kg.paths("fever", "oseltamivir", k=3)
    kg.paths_html(out / "paths.html", "fever", "oseltamivir", k=3)
    summary["written"] += ["patient.html", "paths.html", "records.csv"]
    summary["written"].sort()
    if as_json:
        summary["query"] = {"symptoms-of influenza": _records(kg.symptoms_of("influenza"))}
        summary["paths"] = [p.to_dict() for p in paths]
        summary["link"] = link.to_dict()
        _echo_json(summary)
        return
    _print_summary(kg, data, top=3)
    click.echo("\n$ kgmed query graph.json symptoms-of influenza --limit 5")
    _print_query(kg, "symptoms-of", "influenza", kg.symptoms_of("influenza").head(5))
    click.echo("\n$ kgmed paths graph.json fever oseltamivir -k 1")
    click.echo(paths[0].explain() if paths else "no path")
    click.echo(f"\n$ kgmed link graph.json {' '.join(_quote(t) for t in finding)}")
    click.echo(link.explain())
    _print_written(out, extra=("patient.html", "paths.html", "records.csv"))
    click.echo(
        f"\nOpen {out / 'graph.html'} in a browser, or go on from the shell:\n"
        f"  kgmed query {out / 'graph.json'} treatments-for influenza\n"
        f"  kgmed link {out / 'graph.json'} cough 'sore throat'"
    )


def _quote(term: str) -> str:
    return f"'{term}'" if " " in term else term


def _read(
    paths: Sequence[Path],
    *,
    fmt: str,
    patient: str | None,
    concept: str | None,
    kind: str | None,
    code: str | None,
    system: str | None,
    encounter: str | None,
    sep: str | None,
    chunksize: int | None,
    basket: str,
    progress: bool | None,
    encoding: str | None = None,
    kinds: Sequence[str] = (),
    indicators: Sequence[str] = (),
    age: str | None = None,
    birth_date: str | None = None,
    time_column: str | None = None,
    sex: str | None = None,
    covariates: Sequence[str] = (),
    **_: Any,
) -> Records:
    from kgmed.records.detect import detect_format

    wide = {
        "kinds": _wide_option("--kinds", kinds),
        "indicators": _wide_option("--indicators", indicators),
    }
    is_wide = bool(kinds or indicators)
    if is_wide:
        _check_wide_options(
            fmt,
            basket,
            {
                "--concept": concept,
                "--kind": kind,
                "--code": code,
                "--system": system,
                "--encounter": encounter,
                "--time": time_column,
                "--birth-date": birth_date,
                "--chunksize": chunksize,
            },
        )
    found = detect_format(paths, format=fmt)
    fmt, paths = found.format, list(found.paths)
    for note in found.notes:
        _note(note)
    if is_wide and fmt != "csv":
        raise click.UsageError(
            f"--kinds and --indicators read a CSV table; these records are {fmt}"
        )
    if fmt in ("synthea", "omop") and len(paths) != 1:
        raise click.BadParameter(
            f"--format {fmt} reads one folder; got {len(paths)} paths", param_hint="RECORDS"
        )
    # No --encoding: the reader's own default applies.
    text: dict[str, Any] = {} if encoding is None else {"encoding": encoding}
    if fmt == "synthea":
        records = kgmed.read_synthea(paths[0], basket=basket, progress=progress, **text)
    elif fmt == "omop":
        records = kgmed.read_omop(paths[0], basket=basket, progress=progress, **text)
    elif fmt == "fhir":
        if text and "encoding" not in inspect.signature(kgmed.read_fhir).parameters:
            raise click.UsageError("--encoding: FHIR files are read as JSON, which is UTF-8")
        records = kgmed.read_fhir(paths, basket=basket, progress=progress, **text)
        records = _without_file_names(records, paths)
    else:
        parts = []
        for path in paths:
            header = _header(path, sep, encoding)
            column_code = code or ("code" if "code" in header else None)
            column_system = system or ("system" if "system" in header and column_code else None)
            # Who the patients are, for adjusting: named, or the usual column names.
            column_age = age or ("age" if "age" in header and not birth_date else None)
            column_sex = sex or ("sex" if "sex" in header else None)
            columns: dict[str, Any] = (
                {"patient": patient, **wide}
                if is_wide
                else {
                    "patient": patient or "patient_id",
                    "concept": concept or "concept",
                    "kind": kind or "kind",
                    "code": column_code,
                    "system": column_system,
                    "encounter": encounter,
                    "time": time_column,
                    "birth_date": birth_date,
                    "basket": basket,
                    "chunksize": chunksize,
                }
            )
            parts.append(
                kgmed.read_records(
                    path,
                    **columns,
                    age=column_age,
                    sex=column_sex,
                    covariates=tuple(covariates),
                    sep=sep,
                    progress=progress,
                    **text,
                )
            )
        records = parts[0] if len(parts) == 1 else _combine(parts)
    # The report (printed, and written as report.txt) speaks the command's options.
    records.report.notes = [_speak_options(note) for note in [*found.notes, *records.report.notes]]
    for note in records.report.notes:
        if note.startswith("warning: "):
            _note(note.removeprefix("warning: "), what="warning")
    return records


def _wide_option(option: str, values: Sequence[str]) -> dict[str, list[str]]:
    """``--kinds disease=Disease --kinds 'symptom=Symptom_*'`` as the reader takes it."""
    from kgmed.schema import normalize_kind

    by_kind: dict[str, list[str]] = {}
    for value in values:
        kind, equals, column = value.partition("=")
        if not equals or not kind.strip() or not column:
            raise click.BadParameter(
                f"{value!r}: give KIND=COLUMN, such as disease=Disease or 'symptom=Symptom_*'",
                param_hint=option,
            )
        kind = kind.strip()
        try:
            normalize_kind(kind)
        except KgmedError as err:
            try:
                normalize_kind(column)
            except KgmedError:
                raise click.BadParameter(f"{value!r}: {err}", param_hint=option) from None
            raise click.BadParameter(
                f"{value!r}: the kind comes first, then the column: {option} {column}={kind}",
                param_hint=option,
            ) from None
        by_kind.setdefault(kind, []).append(column)
    return by_kind


def _check_wide_options(fmt: str, basket: str, long_only: Mapping[str, object]) -> None:
    """A wide table (--kinds, --indicators) is one case per row: refuse what a long table takes."""
    given = [option for option, value in long_only.items() if value is not None]
    if given:
        raise click.UsageError(
            f"{', '.join(given)}: for a long table (one observation per row); with --kinds "
            f"or --indicators each row is a case and each chosen cell a concept"
        )
    if basket != "patient":
        raise click.UsageError(
            "--basket encounter needs encounters; a wide table (--kinds, --indicators) has one "
            "case per row"
        )
    if fmt not in ("auto", "csv"):
        raise click.UsageError(f"--kinds and --indicators read a CSV table, not --format {fmt}")


def _note(message: str, what: str = "note") -> None:
    """A note or warning on standard error, in the command's words."""
    _error(_speak_options(message), what=what)


def _without_file_names(records: Records, paths: Sequence[Path]) -> Records:
    """``records`` with its report's FHIR file names replaced by numbers.

    Exports name their files after the patient (Synthea writes
    ``Delmar187_Spencer878_<uuid>.json``), and the report is printed and
    written beside the graph, where no patient may be named. Folders keep
    their names.
    """
    report = records.report
    files = {f"file {i}": counts for i, counts in enumerate(report.files.values(), start=1)}
    n_files = sum(not path.is_dir() for path in paths)
    parts = [path.name for path in paths if path.is_dir()]
    parts += [f"{n_files} FHIR file(s)"] if n_files else []
    records.report = dataclasses.replace(report, files=files, source=", ".join(parts))
    return records


def _header(path: Path, sep: str | None, encoding: str | None = None) -> list[str]:
    """Column names of a CSV file, or [] when it cannot be read (the reader says why)."""
    from kgmed.errors import KgmedError
    from kgmed.records._io import open_csv

    try:
        return open_csv(path, encoding=encoding, sep=sep).header
    except (KgmedError, OSError):
        return []


def _combine(parts: Sequence[Records]) -> Records:
    """Records read from several CSV files, as one: duplicates across files dropped."""
    import pandas as pd

    from kgmed.records import Records, RecordsReport
    from kgmed.records._patients import _concat_patients

    data = pd.concat([part.data for part in parts], ignore_index=True)
    kinds = data.drop_duplicates(["concept_id", "kind"])
    clash = kinds["concept_id"].duplicated(keep=False)
    if clash.any():
        first = kinds.loc[clash].iloc[0]
        seen = sorted(kinds.loc[kinds["concept_id"] == first["concept_id"], "kind"])
        raise RecordsError(
            f"concept {first['label']!r} ({first['concept_id']}) is a {' in one file and a '.join(seen)} "
            f"in another; a concept has one kind"
        )
    # One label per concept across files: the first file's spelling.
    data["label"] = data.groupby("concept_id", sort=False)["label"].transform("first")
    duplicate = data.duplicated(["patient_id", "concept_id", "encounter_id", "time"]).to_numpy()
    data = data.loc[~duplicate].reset_index(drop=True)
    dropped: dict[str, int] = {}
    files: dict[str, dict[str, int]] = {}
    for part in parts:
        report = part.report
        for reason, n in report.dropped.items():
            dropped[reason] = dropped.get(reason, 0) + n
        files[report.source] = {"read": report.n_read, "kept": report.n_kept, **report.dropped}
    n_across = int(duplicate.sum())
    if n_across:
        dropped["duplicate"] = dropped.get("duplicate", 0) + n_across
    by_kind = data.drop_duplicates("concept_id")["kind"].value_counts()
    report = RecordsReport(
        source=", ".join(part.report.source for part in parts),
        n_read=sum(part.report.n_read for part in parts),
        n_kept=len(data),
        dropped=dropped,
        n_patients=int(data["patient_id"].nunique()),
        n_concepts=int(data["concept_id"].nunique()),
        n_label_variants=sum(part.report.n_label_variants for part in parts),
        concepts_by_kind={k: int(v) for k, v in by_kind.items()},
        files=files,
    )
    if n_across:
        report.notes.append(
            f"{n_across:,} observation(s) appeared in more than one file (counted once)"
        )
    basket = parts[0].basket
    patients = _concat_patients([(part.report.source, part.patients) for part in parts])
    return Records(data, report, basket=basket, patients=patients)


def _build(
    data: Records,
    *,
    progress: bool | None,
    min_support: float = 0.001,
    min_confidence: float = 0.05,
    min_patients: int = 11,
    max_len: int = 2,
    algorithm: str = "auto",
    relations: str = "direct",
    keep: str = "significant",
    max_q_value: float = 0.05,
    min_lift: float = 1.0,
    min_weight: float = _MIN_WEIGHT,
    adjust_for: Sequence[str] = ("age", "sex"),
    no_adjust: bool = False,
    max_memory: str | None = None,
    **_: Any,
) -> KnowledgeGraph:
    return kgmed.build(
        data,
        min_support=min_support,
        min_confidence=min_confidence,
        min_patients=min_patients,
        max_len=max_len,
        algorithm=algorithm,
        relations=relations,
        keep=keep,
        max_q_value=max_q_value,
        min_lift=min_lift,
        min_weight=min_weight,
        adjust_for=() if no_adjust else tuple(adjust_for),
        progress=progress,
        max_memory=max_memory,
    )


def _write_outputs(
    kg: KnowledgeGraph, data: Records, out: Path, *, progress: bool | None
) -> dict[str, Any]:
    from kgmed._progress import Stages, check_progress

    out.mkdir(parents=True, exist_ok=True)
    summary = _summary(kg, data)
    summary["out"] = str(out)
    summary["written"] = list(BUILD_OUTPUTS)
    steps: list[tuple[str, Callable[[Path], object]]] = [
        ("report.txt", lambda p: p.write_text(str(data.report) + "\n", encoding="utf-8")),
        ("graph.json", kg.save),
        ("graph.ttl", kg.save),
        ("graph.html", kg.to_html),
        ("nodes.csv", lambda p: _write_csv(kg.nodes(), p)),
        ("edges.csv", lambda p: _write_csv(kg.edges(), p)),
        ("rules.csv", lambda p: _write_csv(_rules_table(kg), p)),
        ("summary.json", lambda p: p.write_text(_dumps(summary) + "\n", encoding="utf-8")),
    ]
    with Stages([name for name, _ in steps], show=check_progress(progress), desc="write") as bar:
        for name, write in steps:
            bar.start(name)
            write(out / name)
    return summary


def _summary(kg: KnowledgeGraph, data: Records) -> dict[str, Any]:
    table = kg.summary()
    return {
        "kgmed": kgmed.__version__,
        "records": dataclasses.asdict(data.report),
        "patients": int(kg.params.get("n_patients", 0)),
        "concepts": {
            row.type: int(row.count) for row in table[table["part"] == "node"].itertuples()
        },
        "relations": {
            row.type: int(row.count) for row in table[table["part"] == "edge"].itertuples()
        },
        "params": dict(kg.params),
    }


def _print_report(report: RecordsReport) -> None:
    """The reader's report, its per-file table cut to the terminal's width."""
    click.echo(str(dataclasses.replace(report, files={})))
    if report.files:
        click.echo("  per file:")
        _print_table(report.files_frame().rename_axis("file").reset_index())


def _print_summary(kg: KnowledgeGraph, data: Records, top: int) -> None:
    _print_report(data.report)
    click.echo()
    click.echo(repr(kg))
    click.echo(kg.summary().to_string(index=False))
    _print_kept(kg)
    for relation in ("has_symptom", "treated_with", "comorbid_with"):
        table = _strongest(kg, relation, top)
        if len(table):
            how = "direct weight, then lift" if relation != "comorbid_with" else "lift"
            click.echo(f"\nstrongest {relation} (by {how})")
            _print_table(table)
    suppressed = kg.params.get("n_concepts_suppressed", 0)
    if suppressed:
        click.echo(
            f"\n{suppressed} concept(s) held by fewer than {kg.params['min_patients']} "
            f"patients were left out (privacy floor)."
        )


def _print_written(out: Path, extra: Iterable[str] = ()) -> None:
    names = sorted([*BUILD_OUTPUTS, *extra])
    click.echo(f"\nwrote {', '.join(names)} to {out}/")


def _print_kept(kg: KnowledgeGraph) -> None:
    """How many mined pairs were tested, kept and dropped, and why."""
    counts = kg.params.get("edges")
    if not counts:
        return
    adjusted = kg.params.get("adjusted_for") or []
    what = f"adjusted for {' and '.join(adjusted)}" if adjusted else "not adjusted"
    click.echo(
        f"\nrelations tested: {counts['tested']:,}; kept: {counts['kept']:,} "
        f"(q < {kg.params.get('max_q_value', 0.05):g}, lift > {kg.params.get('min_lift', 1):g}, "
        f"{what})"
    )
    for why, n in counts["dropped"].items():
        click.echo(f"  dropped, {why}: {n:,}")


def _strongest(kg: KnowledgeGraph, relation: str, top: int) -> pd.DataFrame:
    edges = kg.edges(relation)
    edges = edges[(edges["q_value"] < 0.05) & (edges["lift"] > 1)]
    edges = edges.sort_values(
        ["direct_weight", "lift", "n_patients"], ascending=False, na_position="last"
    ).head(top)
    columns = [
        "source_label",
        "target_label",
        "p_target_given_source",
        "p_source_given_target",
        "lift",
        "n_patients",
        "q_value",
    ]
    if edges["direct_weight"].notna().any():
        columns.insert(2, "direct_weight")
    return edges[columns].rename(
        columns={
            "source_label": "source",
            "target_label": "target",
            "direct_weight": "direct",
            "p_target_given_source": "P(target|source)",
            "p_source_given_target": "P(source|target)",
            "n_patients": "patients",
            "q_value": "q",
        }
    )


def _rules_table(kg: KnowledgeGraph) -> pd.DataFrame:
    rules = kg.rules.copy()
    for column in ("antecedents", "consequents"):
        rules[column] = ["; ".join(sorted(items)) for items in rules[column]]
    return rules


def _write_csv(table: pd.DataFrame, path: Path) -> Path:
    """Write a table as CSV, with text cells defused for spreadsheets."""
    import pandas as pd

    safe = table.copy()
    for column in safe.columns:
        if pd.api.types.is_string_dtype(safe[column]) or safe[column].dtype == object:
            text = safe[column].astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                safe.loc[risky, column] = "'" + text[risky]
    safe.to_csv(path, index=False)
    return path


# -- questions --------------------------------------------------------------


@cli.command(
    short_help="Symptoms of a disease, its treatments, diseases with a symptom.",
    epilog="""\b
Examples:
  kgmed query out/graph.json symptoms-of influenza
  kgmed query out/graph.json treatments-for heart failure --limit 3
  kgmed query out/graph.json diseases-with fever --max-q 0.01 --json
""",
)
@_graph_argument
@click.argument("question", type=click.Choice(list(_QUESTIONS)), metavar="QUESTION")
@click.argument("term", nargs=-1, required=True)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many rows.")
@click.option(
    "--min-lift",
    type=float,
    default=1.0,
    show_default=True,
    help="Only relations with at least this lift.",
)
@click.option("--max-q", type=float, help="Only relations with a q-value at most this.")
@_json_option
def query(
    graph: Path,
    question: str,
    term: tuple[str, ...],
    limit: int | None,
    min_lift: float,
    max_q: float | None,
    as_json: bool,
) -> None:
    """Ask for the symptoms of a disease, its treatments, or the diseases with a symptom.

    QUESTION is symptoms-of, treatments-for or diseases-with. TERM is a label, a synonym or a code (ICD10CM:J11.1); words after the
    question are joined, so quotes are optional. Each row gives both
    conditional probabilities, the lift, the direct-relation weight, the
    number of patients and the q-value.
    """
    kg = _load(graph)
    label = " ".join(term)
    ask = getattr(kg, _QUESTIONS[question])
    table = ask(label, min_lift=min_lift, max_q_value=max_q, limit=limit)
    if as_json:
        _echo_json(
            {
                "question": question,
                "term": label,
                "concept": kg.resolve(label),
                "results": _records(table),
            }
        )
        return
    _print_query(kg, question, label, table)


def _print_query(kg: KnowledgeGraph, question: str, term: str, table: pd.DataFrame) -> None:
    concept = kg.resolve(term)
    name = kg.graph.nodes[concept].get("label", term)
    what = question.replace("-", " ")
    if table.empty:
        click.echo(f"no {what} {name} pass the filters")
        return
    click.echo(f"{what} {name} ({concept}): {len(table)}")
    shown = table.drop(columns=["id", "p_value", "source"], errors="ignore")
    shown = shown.rename(columns=_short_header)
    _print_table(shown)


def _short_header(column: str) -> str:
    if column.startswith("p_") and "_given_" in column:
        a, b = column[2:].split("_given_")
        return f"P({a}|{b})"
    return {"direct_weight": "weight", "n_patients": "patients", "q_value": "q"}.get(column, column)


@cli.command(
    short_help="Explain how one concept leads to another.",
    epilog="""\b
Examples:
  kgmed paths out/graph.json fever oseltamivir
  kgmed paths out/graph.json 'chest pain' furosemide -k 3 --max-hops 4
  kgmed paths out/graph.json fever oseltamivir --html paths.html --json
""",
)
@_graph_argument
@click.argument("source")
@click.argument("target")
@click.option("-k", type=click.IntRange(min=1), default=5, show_default=True, help="Paths shown.")
@click.option("--max-hops", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--via",
    multiple=True,
    type=click.Choice(KINDS),
    help="The kinds of the concepts in between, in order (repeatable; overrides --max-hops).",
)
@click.option("--relation", "relations", multiple=True, help="Only these relations (repeatable).")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the paths as an interactive page.",
)
@_json_option
def paths(
    graph: Path,
    source: str,
    target: str,
    k: int,
    max_hops: int,
    via: tuple[str, ...],
    relations: tuple[str, ...],
    html_path: Path | None,
    as_json: bool,
) -> None:
    """Explain how SOURCE leads to TARGET: the likeliest chains of relations.

    Each step says how many patients with one concept had the next, and how
    significant that is. Quote a term of several words.
    """
    kg = _load(graph)
    options: dict[str, Any] = {"k": k, "max_hops": max_hops}
    if via:
        options["via"] = list(via)
    if relations:
        options["relations"] = list(relations)
    found = kg.paths(source, target, **options)
    if html_path is not None:
        kg.paths_html(html_path, source, target, **options)
    if as_json:
        _echo_json({"source": source, "target": target, "paths": [p.to_dict() for p in found]})
        return
    if not found:
        click.echo(f"no path from {source} to {target} within {max_hops} relations")
    click.echo("\n\n".join(path.explain() for path in found))
    if html_path is not None:
        click.echo(f"\nwrote {html_path}")


@cli.command(
    short_help="Link a patient's findings to the knowledge, with the evidence.",
    epilog="""\b
Examples:
  kgmed link out/graph.json fever cough
  kgmed link out/graph.json fever 'muscle pain' --absent 'loss of smell'
  kgmed link out/graph.json fever cough --json
  kgmed link out/graph.json fever cough --html patient.html
""",
)
@_graph_argument
@click.argument("terms", nargs=-1, required=True)
@click.option("--absent", multiple=True, help="A finding the patient does not have (repeatable).")
@click.option(
    "--diagnosis", "diagnoses", multiple=True, help="A diagnosis already made (repeatable)."
)
@click.option(
    "--treatment", "treatments", multiple=True, help="A treatment already taken (repeatable)."
)
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the patient's page.",
)
@_json_option
def link(
    graph: Path,
    terms: tuple[str, ...],
    absent: tuple[str, ...],
    diagnoses: tuple[str, ...],
    treatments: tuple[str, ...],
    top: int,
    html_path: Path | None,
    as_json: bool,
) -> None:
    """Link one patient's findings to the knowledge and explain it.

    Prints the candidate diagnoses with the evidence for and against each,
    the treatments recorded with them and what to ask next. A patient's own
    words are matched through the exact synonyms of the Human Phenotype
    Ontology ("trouble breathing" is dyspnea) and misspelt terms to the
    closest label, and both say so; a misspelling is never read as its
    medical opposite ("hypotension" is not hypertension). When no term is
    recognised it says so and names no diagnosis. Quote a term of several
    words.
    """
    kg = _load(graph)
    patient: dict[str, list[str]] = {"present": list(terms)}
    if absent:
        patient["absent"] = list(absent)
    if diagnoses:
        patient["diagnoses"] = list(diagnoses)
    if treatments:
        patient["treatments"] = list(treatments)
    result = kg.link(patient, top=top)
    if html_path is not None:
        result.to_html(html_path)
    if as_json:
        _echo_json(result.to_dict())
        return
    click.echo(result.explain())
    if html_path is not None:
        click.echo(f"\nwrote {html_path}")


# -- outputs ---------------------------------------------------------------


@cli.command(
    short_help="Write the graph as JSON, RDF, KGX or CSV tables.",
    epilog="""\b
Examples:
  kgmed export out/graph.json --format turtle --out graph.ttl
  kgmed export out/graph.json --format nt --out graph.nt --no-evidence
  kgmed export out/graph.ttl --format kgx --out kgx/
  kgmed export out/graph.json --format csv --out tables/
""",
)
@_graph_argument
@click.option("--format", "fmt", type=click.Choice(_EXPORTS), required=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="The file written (a folder for kgx and csv).",
)
@click.option(
    "--evidence/--no-evidence",
    default=True,
    show_default=True,
    help="RDF: keep each relation's evidence (counts, conditionals, q-value).",
)
@click.option("--base", help="RDF: the namespace of concept IRIs.")
@_json_option
def export(
    graph: Path, fmt: str, out: Path, evidence: bool, base: str | None, as_json: bool
) -> None:
    """Write the graph as JSON, RDF, KGX or CSV tables.

    Formats: kgmed's JSON (kgmed.load reads it), RDF (turtle, nt, json-ld,
    xml), KGX TSV for the Biolink toolchain, or CSV tables of nodes, edges
    and rules with spreadsheet formulas defused.
    """
    kg = _load(graph)
    if fmt == "kgx":
        kg.to_kgx(out)
        written = sorted(str(p) for p in out.iterdir())
    elif fmt == "csv":
        out.mkdir(parents=True, exist_ok=True)
        written = [
            str(_write_csv(kg.nodes(), out / "nodes.csv")),
            str(_write_csv(kg.edges(), out / "edges.csv")),
            str(_write_csv(_rules_table(kg), out / "rules.csv")),
        ]
    elif fmt == "json":
        written = [str(kg.save(out, format="json"))]
    else:
        written = [str(kg.save(out, format=fmt, base=base, evidence=evidence))]
    if as_json:
        _echo_json({"format": fmt, "written": written})
    else:
        click.echo(f"wrote {', '.join(written)}")


@cli.command(
    short_help="Send the graph to a triple store's SPARQL endpoint.",
    epilog="""\b
Examples:
  kgmed push out/graph.json http://127.0.0.1:7878 --graph urn:kgmed:demo
  KGMED_PASSWORD=... kgmed push out/graph.ttl https://graphdb.example.org/repositories/kg \\
      --user admin --graph urn:kgmed:demo
  kgmed push out/graph.json http://127.0.0.1:7878 --append --json
""",
)
@_graph_argument
@click.argument("endpoint")
@click.option(
    "--graph", "named_graph", help="The named graph written (default: the default graph)."
)
@click.option(
    "--user",
    help="HTTP Basic user; the password comes from $KGMED_PASSWORD, or is asked for.",
)
@click.option("--append", is_flag=True, help="Add to the graph instead of replacing what it holds.")
@click.option("--update-endpoint", help="The SPARQL Update URL, when the store needs one.")
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True
)
@click.option(
    "--evidence/--no-evidence",
    default=True,
    show_default=True,
    help="Keep each relation's evidence.",
)
@_json_option
def push(
    graph: Path,
    endpoint: str,
    named_graph: str | None,
    user: str | None,
    append: bool,
    update_endpoint: str | None,
    timeout: float,
    evidence: bool,
    as_json: bool,
) -> None:
    """Send the graph as RDF to a triple store's SPARQL endpoint.

    ENDPOINT is the store's URL (Oxigraph http://127.0.0.1:7878, a Fuseki
    dataset, a GraphDB repository...); kgmed finds its Graph Store or SPARQL
    Update endpoint. A bearer token can come from $KGMED_TOKEN.
    """
    kg = _load(graph)
    auth: tuple[str, str] | str | None = None
    if user is not None:
        password = os.environ.get("KGMED_PASSWORD")
        if password is None:
            password = click.prompt(f"password for {user}", hide_input=True, err=True)
        auth = (user, str(password))
    elif os.environ.get("KGMED_TOKEN"):
        auth = os.environ["KGMED_TOKEN"]
    result = kgmed.rdf.push(
        kg,
        endpoint,
        graph=named_graph,
        auth=auth,
        replace=not append,
        update_endpoint=update_endpoint,
        timeout=timeout,
        evidence=evidence,
    )
    if as_json:
        _echo_json(dataclasses.asdict(result))
        return
    where = f"graph <{result.graph}>" if result.graph else "the default graph"
    click.echo(
        f"sent {result.triples:,} triples to {where} at {result.endpoint} "
        f"({result.method}, {result.chunks} request(s), {result.seconds:.1f} s)"
    )


@cli.command(
    short_help="Write an interactive page of the graph.",
    epilog="""\b
Examples:
  kgmed html out/graph.json --out graph.html
  kgmed html out/graph.json --focus influenza --depth 1 --out influenza.html
  kgmed html out/graph.json --focus 'heart failure' --relation treated_with --out hf.html
""",
)
@_graph_argument
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("graph.html"),
    show_default=True,
)
@click.option("--focus", multiple=True, help="Draw the concepts around this one (repeatable).")
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Relations away from --focus.",
)
@click.option("--max-nodes", type=click.IntRange(min=1), default=500, show_default=True)
@click.option(
    "--max-edges",
    type=click.IntRange(min=0),
    default=3000,
    show_default=True,
    help="At most this many relations, the strongest first.",
)
@click.option("--min-lift", type=float, help="Only relations with at least this lift.")
@click.option("--relation", "relations", multiple=True, help="Only these relations (repeatable).")
@click.option("--title", help="The page's title.")
@_json_option
def html(
    graph: Path,
    out: Path,
    focus: tuple[str, ...],
    depth: int,
    max_nodes: int,
    max_edges: int,
    min_lift: float | None,
    relations: tuple[str, ...],
    title: str | None,
    as_json: bool,
) -> None:
    """Write an interactive page of the graph, or of the part around --focus.

    The page works offline in any browser: hover a concept or relation for
    its evidence, search by label, drag to rearrange.
    """
    kg = _load(graph)
    page = kgmed.viz.graph_page(
        kg,
        focus=list(focus) or None,
        depth=depth,
        max_nodes=max_nodes,
        max_edges=max_edges,
        min_lift=min_lift,
        relations=list(relations) or None,
        title=title,
    )
    page.save(out)
    counts = {
        "path": str(out),
        "concepts": page.n_nodes,
        "concepts_total": page.n_nodes_total,
        "relations": page.n_edges,
        "relations_total": page.n_edges_total,
        "notes": list(page.notes),
    }
    if as_json:
        _echo_json(counts)
        return
    click.echo(
        f"wrote {out}: {page.n_nodes:,} of {page.n_nodes_total:,} concepts, "
        f"{page.n_edges:,} of {page.n_edges_total:,} relations"
    )
    for note in page.notes:
        click.echo(f"  {note}")


# -- output helpers -----------------------------------------------------------


def _plain(value: Any) -> Any:
    """``value`` as JSON has it: numpy scalars as numbers, NaN as null."""
    import numpy as np
    import pandas as pd

    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return [_plain(v) for v in items]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, Path)):
        return str(value)
    return value


def _dumps(value: Any) -> str:
    return json.dumps(_plain(value), indent=2, ensure_ascii=False, allow_nan=False)


def _echo_json(value: Any) -> None:
    click.echo(_dumps(value))


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [_plain(row) for row in table.to_dict("records")]


def _terminal_width() -> int:
    return max(40, shutil.get_terminal_size((100, 24)).columns)


def _cell(value: Any, column: str) -> str:
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if column in ("q", "p", "q_value", "p_value") or (number != 0 and abs(number) < 0.001):
            return f"{number:.2g}"
        if abs(number) < 1:
            return f"{number:.3f}"
        return f"{number:.3g}" if abs(number) < 1000 else f"{number:,.0f}"
    return str(value)


def _print_table(table: pd.DataFrame, width: int | None = None) -> None:
    """Print ``table`` as aligned text no wider than the terminal.

    Text columns are cut short (with an ellipsis) before any column is left
    out; a note says what was left out. ``--json`` prints everything.
    """
    import pandas as pd

    width = width or _terminal_width()
    columns = [str(c) for c in table.columns]
    cells = [[_cell(v, c) for v in table[c]] for c in columns]
    numeric = [pd.api.types.is_numeric_dtype(table[c]) for c in table.columns]
    widths = [max([len(c), *(len(s) for s in col)]) for c, col in zip(columns, cells, strict=True)]

    def total(ws: Sequence[int]) -> int:
        return sum(ws) + 2 * (len(ws) - 1)

    # Cut the widest text columns, down to 12 characters, until the table fits.
    text = [i for i, is_number in enumerate(numeric) if not is_number]
    while total(widths) > width and text:
        i = max(text, key=lambda j: widths[j])
        if widths[i] <= 12:
            break
        widths[i] -= 1
    hidden: list[str] = []
    while total(widths) > width and len(widths) > 1:
        hidden.insert(0, columns.pop())
        cells.pop()
        numeric.pop()
        widths.pop()

    def fit(text: str, n: int) -> str:
        return text if len(text) <= n else text[: n - 1] + "…"

    def row(values: Sequence[str]) -> str:
        parts = [
            fit(v, w).rjust(w) if is_number else fit(v, w).ljust(w)
            for v, w, is_number in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    click.echo(row(columns))
    for i in range(len(table)):
        click.echo(row([col[i] for col in cells]))
    if hidden:
        note = f"(left out to fit {width} columns: {', '.join(hidden)}; --json has them)"
        click.echo(textwrap.fill(note, width=width))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
