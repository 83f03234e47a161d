"""Read a Synthea CSV export and show what treats what in the knowledge graph.

Point it at the folder Synthea wrote its CSV tables to (output/csv, or output):

    python examples/read_synthea.py path/to/output/csv
    python examples/read_synthea.py output --basket encounter --top 3

It prints what was read from each file and why anything was left out, then,
for the diseases most patients have, their treatments: those recorded as
prescribed for the disease (Synthea's REASONCODE) and those mined from the
records with a q-value of at most --max-q-value. Edges below --min-patients
(11 by default, the small-cell rule) are suppressed; lower it only for data
you may show in small counts. No patient identifier is printed.
"""

import argparse
import sys

import pandas as pd

import kgmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the export folder (output/csv, or Synthea's output)")
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
    parser.add_argument("--max-q-value", type=float, default=0.05)
    parser.add_argument("--diseases", type=int, default=10, help="diseases to show")
    parser.add_argument("--top", type=int, default=5, help="treatments per disease")
    args = parser.parse_args()

    try:
        records = kgmed.read_synthea(
            args.folder,
            basket=args.basket,
            social=args.social,
            ingredients=not args.products,
            adult_age=args.adult_age,
        )
        kg = kgmed.build(records, min_patients=args.min_patients)
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")

    pd.set_option("display.width", 160)
    print(records.report, end="\n\n")
    print(kg, end="\n\n")

    edges = kg.edges("treated_with")
    recorded = edges["provenance"].str.contains("recorded").to_numpy(dtype=bool)
    mined = (edges["q_value"] <= args.max_q_value).to_numpy(dtype=bool) & (
        edges["lift"] > 1
    ).to_numpy(dtype=bool)
    shown = edges.loc[recorded | mined].assign(recorded=recorded[recorded | mined])
    if len(shown) == 0:
        print(f"No treatment is held by at least {args.min_patients} patients.")
        return
    diseases = kg.nodes("disease").set_index("id")["n_patients"]
    shown = shown.assign(disease_patients=shown["source"].map(diseases))
    shown = shown.sort_values(
        ["disease_patients", "source", "recorded", "n_recorded", "q_value"],
        ascending=[False, True, False, False, True],
    )
    columns = ["target_label", "n_patients", "n_recorded", "lift", "q_value", "provenance"]
    chosen = shown["source"].drop_duplicates().head(args.diseases)
    print(
        f"Treatments of the {len(chosen)} commonest treated diseases: recorded for the "
        f"disease, or mined with q <= {args.max_q_value}"
    )
    for disease in chosen:
        rows = shown[shown["source"] == disease].head(args.top)
        label = rows["source_label"].iloc[0]
        print(f"\n{label} ({disease}, {int(diseases[disease]):,} patients)")
        table = rows[columns].rename(columns={"target_label": "treatment"})
        table = table.assign(q_value=table["q_value"].map("{:.1e}".format))
        print(table.round({"lift": 2}).to_string(index=False))


if __name__ == "__main__":
    main()
