"""Write a small synthetic sample data set to data/ (nothing is downloaded).

    python data/make_sample.py [--rows N] [--out data/sample.csv]

It has the columns trainer/data.py expects, and a signal the model can learn, so a short local run
shows whether training works before real data and cloud machines are involved.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import pandas as pd
from PIL import Image

DEFAULT_ROWS = 150
SIZE = 32
CLASSES = ["circle", "square", "stripes"]


def draw(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A SIZE x SIZE RGB picture of one shape on a noisy background."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    cy, cx = rng.integers(10, SIZE - 10, size=2)
    radius = rng.integers(5, 9)
    if kind == "circle":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    elif kind == "square":
        mask = (abs(yy - cy) <= radius) & (abs(xx - cx) <= radius)
    else:
        mask = ((xx + yy) // 4) % 2 == 0
    image = rng.integers(0, 60, size=(SIZE, SIZE, 3))
    image[mask] = rng.integers(150, 256, size=3)
    return image.astype(np.uint8)


def make(rows: int, rng: np.random.Generator, out: str) -> pd.DataFrame:
    folder = os.path.join(os.path.dirname(out) or ".", "images")
    os.makedirs(folder, exist_ok=True)
    records = []
    for i in range(rows):
        kind = CLASSES[i % len(CLASSES)]
        name = f"img_{i:04d}.png"
        Image.fromarray(draw(kind, rng)).save(os.path.join(folder, name))
        records.append({"image": f"images/{name}", "label": kind})
    return pd.DataFrame(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--out", default="data/sample.csv")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    frame = make(args.rows, np.random.default_rng(args.seed), args.out)
    if args.out.endswith(".parquet"):
        frame.to_parquet(args.out, index=False)
    else:
        frame.to_csv(args.out, index=False)
    print(f"wrote {len(frame)} rows to {args.out}")


if __name__ == "__main__":
    main()
