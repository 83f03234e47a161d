"""Write sample patient records like the bundled ones, examples/data/records.csv.

The records are drawn from kgmed's synthetic model (``kgmed.datasets``),
which knows which symptoms and treatments each disease brings, with
``messy=True`` so that the file looks like a real export: labels in mixed
case, with underscores and stray spaces, and some rows repeated. Reading it
shows what kgmed's reader normalizes and drops.

    python examples/make_sample_records.py
    python examples/make_sample_records.py --out records.csv --patients 20000 --seed 1

With the defaults (3,000 patients, seed 2026) it writes the bundled file
again, byte for byte. It prints how many rows it wrote, and where. The
patient ids it writes (P0001...) are made up; no real patient is in them.
"""

import argparse
from pathlib import Path

import kgmed

SAMPLE = Path(__file__).parent / "data" / "records.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=SAMPLE, help="the CSV file to write; the bundled sample")
    parser.add_argument("--patients", type=int, default=3000, help="patients drawn")
    parser.add_argument("--seed", type=int, default=2026, help="random seed")
    args = parser.parse_args()

    frame = kgmed.datasets.synthetic(
        args.patients, random_state=args.seed, messy=True, as_frame=True
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    print(f"wrote {len(frame):,} rows for {args.patients:,} patients to {out}")


if __name__ == "__main__":
    main()
