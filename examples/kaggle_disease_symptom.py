"""A knowledge graph from the Kaggle "Disease Symptom Prediction" table.

The table has one row per case: a disease and up to 17 symptoms
(``Disease, Symptom_1, ..., Symptom_17``), with the spacing quirks of the
original (leading spaces, ``dischromic _patches``). kgmed reads it as a wide
table, mines it, and says which symptoms best point to each disease.

    python examples/kaggle_disease_symptom.py path/to/dataset.csv
    python examples/kaggle_disease_symptom.py path/to/dataset.csv --disease Malaria

The data set is not shipped with kgmed; its Kaggle layout has a header row
(``Disease,Symptom_1,...``). It prints what the reader kept and dropped
(the table's empty cells), the graph's size, and the symptoms significant
for --disease (q < 0.05), by the share of the patients with the symptom who
have the disease. Relations held by fewer than --min-patients cases (11 by
default) are left out.
"""

import argparse
import sys

import pandas as pd

import kgmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="dataset.csv in the Kaggle layout")
    parser.add_argument("--disease", default="Diabetes", help="the disease to look at")
    parser.add_argument("--min-patients", type=int, default=11)
    args = parser.parse_args()

    try:
        table = pd.read_csv(args.dataset)
        records = kgmed.Records.from_wide(
            table, kinds={"disease": "Disease", "symptom": "Symptom_*"}, source=args.dataset
        )
        kg = kgmed.build(
            records, min_support=0.001, min_confidence=0.05, min_patients=args.min_patients
        )
        disease = kg.graph.nodes[kg.resolve(args.disease, kind="disease")]["label"]
        symptoms = kg.symptoms_of(disease, max_q_value=0.05)
    except (OSError, kgmed.KgmedError) as err:
        sys.exit(f"{type(err).__name__}: {err}")
    print(records.report, end="\n\n")
    print(kg, end="\n\n")

    print(f"Symptoms that point to {disease} (q < 0.05, by P(disease | symptom)):")
    symptoms = symptoms.sort_values("p_disease_given_symptom", ascending=False, kind="stable")
    columns = ["label", "p_disease_given_symptom", "p_symptom_given_disease", "n_patients"]
    print(symptoms[columns].round(3).to_string(index=False))


if __name__ == "__main__":
    main()
