"""Find how two concepts are connected in the knowledge graph, each step with its evidence.

    python examples/explain_paths.py fever oseltamivir
    python examples/explain_paths.py "loss of smell" acetaminophen --via disease
    python examples/explain_paths.py asthma "heart failure" --k 3 --max-hops 2
    python examples/explain_paths.py wheezing albuterol --weight lift --records visits.csv

It builds the graph from the bundled sample records (or --records, a CSV
file of your own) and prints the --k best paths from the first concept to
the second (``kg.paths``), best first. A path is as good as its steps are
probable in the records (--weight conditional, the default: each step costs
-log P(next | current)); --weight lift prefers strong associations over
common concepts, --weight hops the fewest steps. --via gives the kinds of
the concepts in between (``--via disease`` finds symptom -> disease ->
treatment chains). Every step says how many patients with one concept had
the next, the relation, and its q-value.

The paths walk the relations between a disease and what goes with it
(has_symptom, treated_with, comorbid_with). Relations held by fewer than
--min-patients patients (11 by default) are not in the graph; no patient
identifier is printed.
"""

import argparse
import sys
from pathlib import Path

import kgmed

SAMPLE = Path(__file__).parent / "data" / "records.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="where the paths start (label, concept id or code)")
    parser.add_argument("target", help="where they end")
    parser.add_argument("--k", type=int, default=3, help="paths shown at most")
    parser.add_argument("--max-hops", type=int, default=3, help="steps per path at most")
    parser.add_argument(
        "--via", nargs="+", metavar="KIND", help="kinds of the concepts in between, in order"
    )
    parser.add_argument("--weight", default="conditional", choices=kgmed.reasoning.WEIGHTS)
    parser.add_argument("--records", default=SAMPLE, help="records CSV; the bundled sample")
    parser.add_argument("--min-patients", type=int, default=11)
    args = parser.parse_args()

    try:
        records = kgmed.read_records(args.records, code="code", system="system")
        kg = kgmed.build(records, min_patients=args.min_patients)
        paths = kg.paths(
            args.source,
            args.target,
            k=args.k,
            max_hops=args.max_hops,
            via=args.via,
            weight=args.weight,
        )
    except kgmed.KgmedError as err:
        sys.exit(f"{type(err).__name__}: {err}")

    print(kg, end="\n\n")
    if not paths:
        word = "step" if args.max_hops == 1 else "steps"
        within = f"through {', '.join(args.via)}" if args.via else f"within {args.max_hops} {word}"
        print(f"No path from {args.source} to {args.target} {within}.")
        return
    best = "The best path" if len(paths) == 1 else f"The {len(paths)} best paths"
    print(f"{best} from {args.source} to {args.target} (weight: {args.weight}):")
    for rank, path in enumerate(paths, 1):
        first, *hops = path.explain().splitlines()
        print(f"\n{rank}. {first}")
        for step in hops:
            print(f"   {step}")
        print(f"     probability of the whole chain: {path.probability:.3f}")


if __name__ == "__main__":
    main()
