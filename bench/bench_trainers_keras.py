"""Benchmark: the generated Keras tabular trainer against a minimal hand-written Keras loop.

Both train the same model (the generated `trainer.model.build_model`), on the same data (the
generated `trainer.data.prepare` over a larger synthetic sample), with the same batch size and
optimizer, on the CPU in float32. Figures, one JSON line on stdout:

- examples_per_second: training examples per second of an epoch (validation excluded), the
  median over epochs after the first (which includes tracing), best of `--repeats` runs;
- ratio: generated / hand-written (the target is at least 0.9);
- time_to_first_step_seconds: from the start of the training process's main code (before
  TensorFlow is imported) to the end of the first training step, best of the runs.

    .venv/bin/python bench/bench_trainers_keras.py [--rows 20000] [--epochs 5] [--repeats 2]

Not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

ANSWERS = {
    "project_name": "bench-keras-tabular",
    "task": "tabular_classification",
    "framework": "tensorflow",
    "model_family": "mlp",
    "data_size_gb": 0.5,
}

# The hand-written reference: the generated model and data, trained by Keras' own fit().
BASELINE = r"""
import json, sys, time
started = time.perf_counter()
import numpy as np
import keras
from trainer import data, model as model_lib

epochs, batch_size, learning_rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
keras.utils.set_random_seed(42)
split = data.prepare(data.DEFAULT_DATA)
hp = {"hidden_units": 64, "num_layers": 2, "dropout": 0.1}
net = model_lib.build_model(split.meta, hp)
net.compile(
    optimizer=keras.optimizers.Adam(learning_rate),
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=["accuracy"],
)


class Clock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.first_step = None
        self.rates = []

    def on_epoch_begin(self, epoch, logs=None):
        self.begin = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.first_step is None:
            self.first_step = time.perf_counter() - started

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(len(split.x_train) / (time.perf_counter() - self.begin))


clock = Clock()
net.fit(split.x_train, split.y_train, batch_size=batch_size, epochs=epochs, shuffle=True,
        verbose=0, callbacks=[clock])
print(json.dumps({"rates": clock.rates, "first_step": clock.first_step}))
"""


def env() -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CONFIG", "CLUSTER_SPEC") and not k.startswith(("AIP_", "CLOUD_ML_"))
    }
    return clean | {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}


def median_after_first(rates: list[float]) -> float:
    steady = rates[1:] or rates
    return float(sorted(steady)[len(steady) // 2])


def run_generated(root: Path, out: Path, epochs: int, batch_size: int) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "trainer.task",
        f"--epochs={epochs}",
        f"--batch_size={batch_size}",
        "--patience=0",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
    ]
    subprocess.run(command, cwd=root, env=env(), check=True, capture_output=True, text=True)
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "examples_per_second": median_after_first(metrics["history"]["examples_per_second"]),
        "first_step": float(metrics["time_to_first_step_seconds"]),
    }


def run_baseline(root: Path, epochs: int, batch_size: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", BASELINE, str(epochs), str(batch_size), "0.001"],
        cwd=root,
        env=env(),
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "examples_per_second": median_after_first(figures["rates"]),
        "first_step": float(figures["first_step"]),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    from advisor.project.generate import generate_project

    with tempfile.TemporaryDirectory(prefix="bench-keras-") as tmp:
        root = Path(tmp) / "project"
        generate_project(dict(ANSWERS), root, force=True, origin="bench")
        subprocess.run(
            [sys.executable, "data/make_sample.py", f"--rows={args.rows}"],
            cwd=root,
            env=env(),
            check=True,
            capture_output=True,
        )
        generated, baseline = [], []
        started = time.perf_counter()
        for i in range(args.repeats):  # interleaved, so load changes hit both alike
            generated.append(
                run_generated(root, Path(tmp) / f"run{i}", args.epochs, args.batch_size)
            )
            baseline.append(run_baseline(root, args.epochs, args.batch_size))
    best = {
        "generated": max(r["examples_per_second"] for r in generated),
        "handwritten": max(r["examples_per_second"] for r in baseline),
    }
    figures = {
        "benchmark": "keras_tabular_trainer",
        "device": "cpu",
        "rows": args.rows,
        "train_rows": int(args.rows * 0.8),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "examples_per_second": {k: round(v, 1) for k, v in best.items()},
        "ratio": round(best["generated"] / best["handwritten"], 3),
        "target_ratio": 0.9,
        "time_to_first_step_seconds": {
            "generated": round(min(r["first_step"] for r in generated), 2),
            "handwritten": round(min(r["first_step"] for r in baseline), 2),
        },
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
