"""Write a small synthetic tabular regression data set shaped like the task, so the
project trains at once (nothing is downloaded): `python data/make_sample.py`.

Replace it with your data: `python -m trainer.task --data gs://BUCKET/PATH` (see README.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "sample.csv"
LABEL = "demand"
SEED = 7


def make(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Houses and their prices."""
    area = np.round(rng.uniform(40, 250, rows), 1)
    rooms = np.clip(np.round(area / 30 + rng.normal(0, 1, rows)), 1, 10).astype(int)
    age = rng.integers(0, 80, rows)
    neighborhood = rng.choice(["center", "suburb", "rural"], rows, p=[0.3, 0.5, 0.2])
    garden = rng.random(rows) < 0.4
    price = (
        2500 * area
        + 8000 * rooms
        - 600 * age
        + 20000 * garden
        + np.select([neighborhood == "center", neighborhood == "suburb"], [90000, 30000], 0)
        + rng.normal(0, 15000, rows)
    )
    features = {
        "area_m2": area,
        "rooms": rooms,
        "age_years": age,
        "neighborhood": neighborhood,
        "has_garden": garden,
    }
    label = np.round(price, -2)
    # A feature that shares the label's name gets a suffix, so the label column stays unique.
    frame = pd.DataFrame({(k + "_feature" if k == LABEL else k): v for k, v in features.items()})
    frame[LABEL] = label
    return frame


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1200)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    frame = make(args.rows, np.random.default_rng(SEED))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} rows to {args.out}")
    return args.out


if __name__ == "__main__":
    main()
