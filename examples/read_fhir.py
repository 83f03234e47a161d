"""Read FHIR R4 Bundles or an NDJSON bulk export and build a knowledge graph.

Point it at your own export: Bundle JSON files (transaction, collection,
searchset, batch), NDJSON files with one resource per line (a FHIR bulk
export, one file per resource type), or folders of them:

    python examples/read_fhir.py path/to/fhir/ [more paths ...]
    python examples/read_fhir.py export/ --basket encounter --social

It prints what was read (the resources of every type, in all the files
together) and why anything was left out, then the graph: concepts by kind,
relations by type, the drugs and procedures recorded for a reason, and the
strongest associations. Edges below --min-patients (11 by default, the
small-cell rule) are suppressed; lower it only for data you may show in
small counts. No patient identifier is printed: not even the names of the
files, since an export of one Bundle per patient (as Synthea writes) names
each file after its patient; ``records.report.files_frame()`` has the counts
per file, and ``records.report.notes`` what the reader noted.
"""

import argparse
import sys

import pandas as pd

import kgmed


def print_report(report: kgmed.RecordsReport) -> None:
    """The reader's report, with the counts of all the files together, naming none."""
    files = report.files_frame()
    print(f"Records from {len(files):,} file(s)")
    for item, count in report.to_frame().itertuples(index=False):
        print(f"  {item:<40}{count:>10,}")
    if len(files):
        print("  resources in all the files:")
        totals = files.drop(columns=["read", "kept", *report.dropped], errors="ignore").sum()
        for item, count in totals[totals > 0].items():
            print(f"    {item:<38}{count:>10,}")
    if report.notes:
        print(f"  notes: {len(report.notes)} in records.report.notes (they name files)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="Bundle JSON or NDJSON files, or folders")
    parser.add_argument("--basket", choices=["patient", "encounter"], default="patient")
    parser.add_argument(
        "--social", action="store_true", help="keep social concepts and survey answers"
    )
    parser.add_argument(
        "--products", action="store_true", help="keep drug products, not their ingredients"
    )
    parser.add_argument(
        "--adult-age",
        type=float,
        default=18,
        help="judge lab values and vital signs of patients this old or older (default 18)",
    )
    parser.add_argument("--min-patients", type=int, default=11)
    parser.add_argument("--top", type=int, default=10, help="associations to show")
    args = parser.parse_args()

    try:
        records = kgmed.read_fhir(
            args.paths,
            basket=args.basket,
            social=args.social,
            ingredients=not args.products,
            adult_age=args.adult_age,
        )
        kg = kgmed.build(records, min_patients=args.min_patients)
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")

    pd.set_option("display.width", 160)
    print_report(records.report)
    print()
    print(kg, end="\n\n")
    if kg.graph.number_of_edges():
        print(kg.summary().to_string(index=False), end="\n\n")

    edges = kg.edges()
    recorded = edges.loc[edges["provenance"].str.contains("recorded").to_numpy(dtype=bool)]
    columns = ["source_label", "target_label", "n_recorded", "n_patients"]
    print("Recorded reasons (reasonReference/reasonCode of drugs and procedures):")
    if len(recorded):
        recorded = recorded.sort_values("n_recorded", ascending=False)
        print(recorded[columns].head(args.top).to_string(index=False))
    else:
        print(f"  none held by at least {args.min_patients} patients")

    print(f"\nStrongest associations (top {args.top} by patients, then lift):")
    if len(edges) == 0:
        print(f"  none held by at least {args.min_patients} patients")
        return
    columns = ["relation", "source_label", "target_label", "n_patients", "lift", "q_value"]
    strongest = edges.sort_values(["n_patients", "lift"], ascending=False)
    print(strongest[columns].head(args.top).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
