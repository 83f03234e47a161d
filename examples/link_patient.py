"""Link one patient's findings to the knowledge: likely diagnoses, treatments, what to ask next.

Build a graph from the bundled sample records (or a CSV file of your own)
and give what the patient has on the command line:

    python examples/link_patient.py fever "muscle pain"
    python examples/link_patient.py fever cough --absent "runny nose" --taking acetaminophen
    python examples/link_patient.py fever "dry cough" --json
    python examples/link_patient.py wheezing --records visits.csv

It prints which terms named a concept (a misspelt term matches the closest
label; a term that names nothing gets suggestions), the candidate
diagnoses with their probability before and after the evidence, the
treatments recorded with them, the symptoms worth asking about next, and
then the evidence behind each diagnosis: for every finding, how many of the
disease's patients had it, against how many of the other patients, and by
how much it changes the odds. With --json it prints the whole link as JSON
instead, for another program to read.

The graph's relations held by fewer than --min-patients patients (11 by
default, the small-cell rule) are left out. What is printed is what the
records of many patients show, not a diagnosis. No patient identifier of the
records is printed.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

import kgmed

SAMPLE = Path(__file__).parent / "data" / "records.csv"


def evidence(kg: kgmed.KnowledgeGraph, link: kgmed.linking.PatientLink, top: int) -> list[str]:
    """For each diagnosis the evidence raises, the counts behind every finding for or against it."""
    edges = kg.edges("has_symptom").set_index(["source", "target"])
    ids = dict(zip(link.matched["label"], link.matched["id"], strict=True))
    lines = []
    raised = link.diagnoses[link.diagnoses["score"] > link.diagnoses["prior"]]
    for row in raised.head(top).itertuples(index=False):
        lines.append(f"{row.label} ({row.id}, {row.n_patients:,} patients):")
        for findings, present in ((row.supporting, True), (row.against, False)):
            for label, log_ratio in findings:
                key = (row.id, ids.get(label))
                if key not in edges.index:
                    continue
                edge = edges.loc[key]
                n_other = int(edge["n_total"] - edge["n_source"])
                n_without = int(edge["n_target"] - edge["n_patients"])
                lines.append(
                    f"  {label if present else 'no ' + label}: "
                    f"{edge['p_target_given_source']:.0%} of patients with {row.label} had "
                    f"{label} ({int(edge['n_patients']):,} of {int(edge['n_source']):,}), "
                    f"{n_without / n_other:.0%} of the others ({n_without:,} of {n_other:,}); "
                    f"likelihood ratio {math.exp(log_ratio):.2f}"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("findings", nargs="+", help="symptoms and findings the patient has")
    parser.add_argument(
        "--absent", action="append", default=[], help="a symptom the patient does not have"
    )
    parser.add_argument("--diagnosed", action="append", default=[], help="a diagnosis already made")
    parser.add_argument("--taking", action="append", default=[], help="a drug the patient takes")
    parser.add_argument(
        "--records",
        default=SAMPLE,
        help="records CSV (patient_id, concept, kind, code, system); the bundled sample by default",
    )
    parser.add_argument("--min-patients", type=int, default=11)
    parser.add_argument("--top", type=int, default=3, help="diagnoses described")
    parser.add_argument("--json", action="store_true", help="print the link as JSON")
    args = parser.parse_args()

    try:
        records = kgmed.read_records(args.records, code="code", system="system")
        kg = kgmed.build(records, min_patients=args.min_patients)
        link = kg.link(
            {
                "present": args.findings,
                "absent": args.absent,
                "diagnoses": args.diagnosed,
                "treatments": args.taking,
            }
        )
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")

    if args.json:
        print(json.dumps(link.to_dict(), indent=2, allow_nan=False))
        return

    print(f"{kg}\n")
    print(link.explain(top=args.top))
    if len(link.diagnoses):
        with pd.option_context("display.width", 120):
            table = link.diagnoses[["label", "score", "prior", "n_patients"]].head(5)
            print("\nCandidate diagnoses (score: probability after the evidence):")
            print(table.round(3).to_string(index=False))
    lines = evidence(kg, link, args.top)
    if lines:
        print("\nThe evidence, from the records:")
        print("\n".join(lines))
    if len(link.next_questions):
        print("\nWhat to ask next (bits of information the answer is expected to give):")
        questions = link.next_questions[["label", "information_gain", "p_yes"]]
        print(questions.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
