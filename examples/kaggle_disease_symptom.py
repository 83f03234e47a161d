"""A knowledge graph from the Kaggle "Disease Symptom Prediction" table.

The table has one row per case: a disease and up to 17 symptoms
(``Disease, Symptom_1, ..., Symptom_17``), with the spacing quirks of the
original (leading spaces, ``dischromic _patches``). kgmed reads it as a wide
table, mines it, and says which symptoms best point to each disease.

    python examples/kaggle_disease_symptom.py path/to/dataset.csv

The data set is not shipped with kgmed; its Kaggle layout has a header row
(``Disease,Symptom_1,...``).
"""

import argparse

import pandas as pd

import kgmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="dataset.csv in the Kaggle layout")
    parser.add_argument("--disease", default="Diabetes")
    args = parser.parse_args()

    table = pd.read_csv(args.dataset)
    records = kgmed.Records.from_wide(
        table, kinds={"disease": "Disease", "symptom": "Symptom_*"}, source=args.dataset
    )
    print(records.report, end="\n\n")

    kg = kgmed.build(records, min_support=0.001, min_confidence=0.05)
    print(kg, end="\n\n")

    print(f"Symptoms that point to {args.disease.strip()} (by P(disease | symptom)):")
    symptoms = kg.symptoms_of(args.disease, max_q_value=0.05)
    symptoms = symptoms.sort_values("p_disease_given_symptom", ascending=False)
    columns = ["label", "p_disease_given_symptom", "p_symptom_given_disease", "n_patients"]
    print(symptoms[columns].round(3).to_string(index=False))


if __name__ == "__main__":
    main()
