"""A knowledge graph from an OMOP CDM v5.4 export.

Point it at a folder of OMOP tables as CSV files (condition_occurrence.csv,
drug_exposure.csv, observation.csv, measurement.csv and concept.csv; when
present also concept_ancestor.csv, person.csv and visit_occurrence.csv;
file names in any case, comma- or tab-separated). It prints what was read,
kept and dropped per table, then the graph: its concepts and relations, and
the strongest disease-treatment and disease-symptom edges.

    python examples/read_omop.py path/to/omop_folder
    python examples/read_omop.py path/to/omop_folder --basket encounter --social

The concept table may be the whole OHDSI vocabulary download or only the rows
your events use; concept_ancestor groups drugs to their RxNorm ingredients
(without it, ingredients are read from the drug names). Edges below
--min-patients (11 by default, the small-cell rule) are suppressed; lower it
only for data you may show in small counts. No patient identifier is printed.
"""

import argparse
import sys

import pandas as pd

import kgmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder of OMOP CDM tables as CSV files")
    parser.add_argument(
        "--basket",
        choices=["patient", "encounter"],
        default="patient",
        help="count co-occurrence per patient (default) or per visit",
    )
    parser.add_argument(
        "--social",
        action="store_true",
        help="keep social and administrative concepts and survey answers",
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
    parser.add_argument("--min-support", type=float, default=0.001)
    parser.add_argument(
        "--min-patients",
        type=int,
        default=11,
        help="privacy floor: leave out concepts and relations of fewer patients (default 11)",
    )
    parser.add_argument("--top", type=int, default=10, help="edges to show per relation")
    args = parser.parse_args()

    try:
        records = kgmed.read_omop(
            args.folder,
            basket=args.basket,
            social=args.social,
            ingredients=not args.products,
            adult_age=args.adult_age,
        )
        kg = kgmed.build(records, min_support=args.min_support, min_patients=args.min_patients)
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")

    print(records.report, end="\n\n")
    print(kg, end="\n\n")
    print(kg.summary().to_string(index=False), end="\n\n")

    columns = ["source_label", "target_label", "lift", "n_patients", "q_value"]
    with pd.option_context("display.width", 160, "display.max_colwidth", 50):
        for relation in ("treated_with", "has_symptom"):
            edges = kg.edges(relation)
            if len(edges) == 0:
                continue
            top = edges.sort_values(["n_patients", "lift"], ascending=False).head(args.top)
            top = top.assign(q_value=top["q_value"].map("{:.1e}".format))
            print(f"{relation}: {len(top)} of {len(edges)} edges, most patients first")
            print(top[columns].round(3).to_string(index=False), end="\n\n")


if __name__ == "__main__":
    main()
