"""Write a small synthetic image data set shaped like the task, so the
project trains at once (nothing is downloaded): `python data/make_sample.py`.

Replace it with your data: `python -m trainer.task --data gs://BUCKET/PATH` (see README.md).
"""

from __future__ import annotations

import argparse
import struct
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "images.parquet"
LABEL = "label"
SEED = 7


CLASSES = ("circle", "square", "triangle")


def png(image: np.ndarray) -> bytes:
    """A PNG file of an RGB uint8 image (no imaging library needed)."""
    height, width, _ = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def draw(shape: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One shape of a random color, size and place on a noisy background."""
    yy, xx = np.mgrid[0:size, 0:size]
    radius = rng.uniform(0.18, 0.32) * size
    cy, cx = rng.uniform(radius, size - radius, 2)
    if shape == "circle":
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
    elif shape == "square":
        mask = (np.abs(yy - cy) <= radius * 0.85) & (np.abs(xx - cx) <= radius * 0.85)
    else:
        top = cy - radius
        mask = (yy >= top) & (yy <= cy + radius) & (np.abs(xx - cx) <= (yy - top) / 2 * 1.15)
    image = rng.normal(40, 20, (size, size, 3))
    image[mask] = rng.uniform(120, 255, 3)
    return np.clip(image, 0, 255).astype(np.uint8)


def make(rows: int, rng: np.random.Generator, size: int = 64) -> pd.DataFrame:
    """Images of circles, squares and triangles; the `image` column holds PNG bytes."""
    labels = [CLASSES[i % len(CLASSES)] for i in range(rows)]
    return pd.DataFrame({"image": [png(draw(c, size, rng)) for c in labels], LABEL: labels})


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=240)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    frame = make(args.rows, np.random.default_rng(SEED))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(args.out, index=False)
    print(f"wrote {len(frame)} rows to {args.out}")
    return args.out


if __name__ == "__main__":
    main()
