"""Write the bundled sample records, examples/data/records.csv.

The records are drawn from kgmed's synthetic model (kgmed.datasets), with
``messy=True`` so that the file looks like a real export: labels in mixed
case, with underscores and stray spaces, and some rows repeated. Reading it
shows what kgmed's reader normalizes and drops.

Run from the repository root:

    python examples/make_sample_records.py
"""

from pathlib import Path

import kgmed

OUT = Path(__file__).parent / "data" / "records.csv"


def main() -> None:
    frame = kgmed.datasets.synthetic(3000, random_state=2026, messy=True, as_frame=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False)
    print(f"wrote {len(frame):,} rows for 3,000 patients to {OUT}")


if __name__ == "__main__":
    main()
