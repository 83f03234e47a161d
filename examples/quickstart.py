"""Build a knowledge graph from patient records and ask it the three usual questions.

Run from the repository's root folder, on the bundled sample records or on
a CSV file of your own (one observation per row: patient_id, concept, kind,
code, system):

    python examples/quickstart.py
    python examples/quickstart.py --disease "heart failure" --symptom wheezing
    python examples/quickstart.py visits.csv --disease asthma --symptom cough --out out

It prints what the reader read, kept and dropped, the graph's size, then
the symptoms of --disease (influenza by default), the treatments recorded
with it and the diseases that present --symptom (a loss of smell), those
significant at a 5 % false discovery rate, each with the counts behind it,
and saves the graph to --out/graph.json, which ``kgmed.load`` reads back. Relations held by fewer
than --min-patients patients (11 by default) are left out; no patient
identifier is printed.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

import kgmed

HERE = Path(__file__).parent


def show(table: pd.DataFrame, columns: list[str]) -> None:
    """Print a query's rows, q-values in scientific notation."""
    shown = table[columns].round(3)
    if "q_value" in columns:
        shown["q_value"] = table["q_value"].map("{:.1e}".format)
    print(shown.to_string(index=False) if len(shown) else "  none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "records", nargs="?", default=HERE / "data" / "records.csv", help="records CSV"
    )
    parser.add_argument("--out", default="out", help="where graph.json is saved")
    parser.add_argument("--disease", default="influenza", help="the disease to ask about")
    parser.add_argument("--symptom", default="loss of smell", help="the symptom to ask about")
    parser.add_argument("--min-patients", type=int, default=11)
    args = parser.parse_args()

    try:
        records = kgmed.read_records(args.records, code="code", system="system")
        kg = kgmed.build(records, min_patients=args.min_patients)
        disease = kg.graph.nodes[kg.resolve(args.disease, kind="disease")]["label"]
        symptom = kg.graph.nodes[kg.resolve(args.symptom, kind="symptom")]["label"]
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")
    print(records.report, end="\n\n")
    print(kg, end="\n\n")

    print(f"Symptoms of {disease} (q < 0.05):")
    show(
        kg.symptoms_of(disease, max_q_value=0.05),
        ["label", "p_symptom_given_disease", "lift", "n_patients", "q_value"],
    )

    print(f"\nTreatments recorded with {disease} (q < 0.05):")
    show(
        kg.treatments_for(disease, max_q_value=0.05),
        ["label", "p_treatment_given_disease", "lift", "n_patients", "q_value"],
    )

    print(f"\nDiseases that present {symptom} (q < 0.05):")
    show(
        kg.diseases_with(symptom, max_q_value=0.05),
        ["label", "p_disease_given_symptom", "lift", "n_patients", "q_value"],
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = kg.save(out / "graph.json")
    print(f"\nsaved the graph to {path}; kgmed.load({str(path)!r}) reads it back")


if __name__ == "__main__":
    main()
