"""Segment the patients of a Synthea CSV export into cohorts, then look at each one.

Point it at the folder Synthea wrote its CSV tables to (output/csv, or output):

    python examples/cohorts_synthea.py path/to/output/csv
    python examples/cohorts_synthea.py output --cohorts 4 --target hypertension --out out

The classic first analysis of patient records. Patients are grouped by what
their records hold (diagnoses, symptoms, treatments); then each cohort is
described by what is over-represented in it against the rest of the
patients, with the counts behind it, and by its patients' age, sex (from
patients.csv) and, where the export has observations, last body mass index.
With --feature-weight above 0 those numbers shape the cohorts too (sex, a
clean 0/1 split, then tends to decide them alone). The cohorts go
into the knowledge graph, written to --out as graph.ttl and graph.html, and a
risk model for --target is set beside the graph's edges of that disease.
Cohorts and counts under --min-patients (11 by default, the small-cell rule)
are not shown; no patient identifier is printed or written.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

import kgmed

KINDS = ["disease", "symptom", "treatment"]
BMI = "LOINC:39156-5"


def patient_features(folder: Path, records: kgmed.Records) -> pd.DataFrame | None:
    """Age (years) and sex (1 for female) from patients.csv, and the last BMI if measured."""
    table = folder / "patients.csv"
    if not table.is_file() and (folder / "csv" / "patients.csv").is_file():
        table = folder / "csv" / "patients.csv"
    if not table.is_file():
        return None
    patients = pd.read_csv(table, usecols=["Id", "BIRTHDATE", "DEATHDATE", "GENDER"], dtype=str)
    patients = patients.set_index("Id")
    # Ages on the last day the records speak of (or at death): the same every run.
    last_day = records.data["time"].max()
    born = pd.to_datetime(patients["BIRTHDATE"], utc=True)
    died = pd.to_datetime(patients["DEATHDATE"], utc=True)
    until = died.where(died.notna() & (died < last_day), last_day)
    features = pd.DataFrame(
        {
            "age": (until - born).dt.days / 365.25,
            "female": (patients["GENDER"] == "F").astype(float),
        }
    )
    measured = records.measurements
    if measured is not None and (measured["concept_id"] == BMI).any():
        bmi = measured[measured["concept_id"] == BMI].sort_values("time", kind="stable")
        features["bmi"] = bmi.groupby("patient_id")["value"].last().astype(float)
    return features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the export folder (output/csv, or Synthea's output)")
    parser.add_argument("--cohorts", default="auto", help="how many cohorts (default: auto)")
    parser.add_argument("--method", default="kmeans", choices=kgmed.cohorts.METHODS)
    parser.add_argument(
        "--feature-weight",
        type=float,
        default=0.0,
        help="weight of age, sex and BMI in the grouping (default 0: they describe it only)",
    )
    parser.add_argument("--target", default="diabetes", help="disease of the risk model")
    parser.add_argument("--min-patients", type=int, default=11)
    parser.add_argument("--top", type=int, default=5, help="concepts shown per cohort")
    parser.add_argument("--out", default="out", help="where graph.ttl and graph.html go")
    args = parser.parse_args()
    n_cohorts = args.cohorts if args.cohorts == "auto" else int(args.cohorts)

    folder = Path(args.folder)
    try:
        records = kgmed.read_synthea(folder)
        features = patient_features(folder, records)
        cohorts = kgmed.cohorts.find(
            records,
            method=args.method,
            n_cohorts=n_cohorts,
            kinds=KINDS,
            features=features,
            missing="median",
            feature_weight=args.feature_weight,
            min_patients=args.min_patients,
        )
        kg = kgmed.build(records, min_patients=args.min_patients)
        added = kg.add_cohorts(cohorts)
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")

    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 60)
    print(records, end="\n\n")
    print(cohorts)
    used = ""
    if features is not None and args.feature_weight > 0:
        used = f" and {', '.join(features.columns)} (weight {args.feature_weight:g})"
    print(f"Patients grouped by their {', '.join(KINDS)}{used}.")
    print("Numbers of cohorts compared (the highest silhouette is chosen):")
    print(cohorts.scores.round(3).to_string(index=False), end="\n\n")
    summary = cohorts.summary()
    print(summary[["cohort", "name", "n_patients", "share"]].round(3).to_string(index=False))
    for note in cohorts.notes:
        print(f"- {note}")

    profile = cohorts.describe_features()
    columns = ["label", "kind", "n_in_cohort", "p_in_cohort", "p_in_rest", "lift", "q_value"]
    for row in summary[summary["described"]].itertuples(index=False):
        print(f"\n{row.cohort}: {row.name} ({row.n_patients:,} patients, {row.share:.0%})")
        table = cohorts.describe(row.cohort, top=args.top)
        if len(table):
            print(table[columns].round(3).to_string(index=False))
        mine = profile[profile["cohort"] == row.cohort]
        if len(mine):
            values = ", ".join(
                f"{r.feature} {r.mean_in_cohort:.1f} (rest {r.mean_in_rest:.1f})"
                for r in mine.itertuples(index=False)
            )
            print(f"  on average: {values}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    kg.save(out / "graph.ttl")
    kg.to_html(out / "graph.html", title="kgmed: cohorts of a Synthea export")
    print(
        f"\n{kg}\nCohort nodes added: {int(added['added'])} "
        f"({int(added['under_floor'])} under the floor left out), "
        f"{int(added['edges'])} characterized_by edges; wrote {out / 'graph.ttl'} and "
        f"{out / 'graph.html'}."
    )

    try:
        model = kgmed.models.risk(records, args.target, kg=kg, min_patients=args.min_patients)
    except kgmed.KgmedError as err:
        print(f"\nNo risk model for {args.target!r}: {err}")
        return
    print()
    print(model.explain())


if __name__ == "__main__":
    main()
