"""Build a knowledge graph from the bundled sample records and question it.

Run from the repository root:

    python examples/quickstart.py [records.csv] [--out DIR]
"""

import argparse
from pathlib import Path

import kgmed

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", default=HERE / "data" / "records.csv")
    parser.add_argument("--out", default="out")
    args = parser.parse_args()

    records = kgmed.read_records(args.records, code="code", system="system")
    print(records.report, end="\n\n")

    kg = kgmed.build(records, min_support=0.001, min_confidence=0.05)
    print(kg, end="\n\n")

    columns = ["label", "p_symptom_given_disease", "lift", "n_patients", "q_value"]
    print("Symptoms of influenza (q < 0.05):")
    print(kg.symptoms_of("influenza", max_q_value=0.05)[columns].round(3).to_string(index=False))

    print("\nTreatments recorded with heart failure:")
    treatments = kg.treatments_for("heart failure", max_q_value=0.05)
    print(
        treatments[["label", "p_treatment_given_disease", "n_patients"]]
        .round(3)
        .to_string(index=False)
    )

    print("\nWhich diseases present a loss of smell?")
    diseases = kg.diseases_with("loss of smell", max_q_value=0.05)
    print(
        diseases[["label", "p_disease_given_symptom", "n_patients"]].round(3).to_string(index=False)
    )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = kg.save(out / "graph.json")
    print(f"\nsaved the graph to {path}; kgmed.load({str(path)!r}) reads it back")


if __name__ == "__main__":
    main()
