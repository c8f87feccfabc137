"""Streaming input of the tabular stacks: peak memory on a large table, speed against in memory.

Run: `.venv/bin/python bench/bench_streaming.py [--gb 2] [--cap-mb 1024] [--fit-mb 100]
[--stacks scikit_learn,xgboost,pytorch,tensorflow]`. Prints one JSON line per measurement.

1. A generated Parquet table of --gb GB (50 float32 features, shards of 64k-row groups) trains
   with --streaming on, the trainer told it may plan for --cap-mb (STREAM_MEMORY_BYTES); the
   figure is the process's peak resident memory (wait4's ru_maxrss), to stay under the cap.
2. A table that fits (--fit-mb MB) trains in memory (--streaming off) and streamed, with the same
   epochs (rounds for XGBoost); the figure is training rows x epochs / wall seconds of the whole
   run (start-up and reading included), and the ratio streamed / in memory (target >= 0.9).
   scikit-learn's in-memory estimator (LogisticRegression) and its streamed one (SGDClassifier)
   are different algorithms, so its ratio compares two ways to train, not one input pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers.gen import render_to  # noqa: E402
from tests.helpers.streaming_data import peak_rss_run, write_table  # noqa: E402

STACKS: dict[str, dict[str, Any]] = {
    "scikit_learn": {"framework": "scikit_learn", "model_family": "linear"},
    "xgboost": {"framework": "xgboost"},
    "pytorch": {"framework": "pytorch", "model_parameters": 500_000},
    "tensorflow": {"framework": "tensorflow", "model_parameters": 500_000},
}
EPOCHS = 2
FLAGS: dict[str, list[str]] = {
    "scikit_learn": ["--n_jobs=1", f"--passes={EPOCHS}", "--search=none"],
    "xgboost": [
        "--nthread=2",
        "--num_boost_round=20",
        "--early_stopping_rounds=0",
        "--search=none",
    ],
    "pytorch": ["--device=cpu", f"--epochs={EPOCHS}", "--batch_size=1024", "--patience=0"],
    "tensorflow": [f"--epochs={EPOCHS}", "--batch_size=1024", "--patience=0"],
}


def epochs_of(stack: str) -> int:
    return 20 if stack == "xgboost" else EPOCHS


def train(project: Path, stack: str, glob: str, mode: str, out: Path, env: dict[str, str]) -> dict:
    command = [
        sys.executable,
        "-m",
        "trainer.task",
        f"--data={glob}",
        f"--streaming={mode}",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
        f"--metrics_path={out / 'metrics.json'}",
        *FLAGS[stack],
    ]
    result = peak_rss_run(command, project, env, timeout=3600)
    if result["returncode"] != 0:
        return {"error": result["output"][-1500:]}
    metrics = json.loads((out / "metrics.json").read_text())
    counted = metrics.get("rows") or metrics.get("examples") or {}
    validation = metrics.get("validation", metrics)
    return {
        "seconds": round(result["seconds"], 1),
        "peak_rss_mb": round(result["peak_rss_mb"]),
        "accuracy": round(float(validation["accuracy"]), 4),
        "train_rows": counted.get("train"),
        "validation_rows": int(metrics.get("val_examples") or 0),
        "trainer_samples_per_second": metrics.get("examples_per_second")
        or metrics.get("train_samples_per_second"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0)
    parser.add_argument("--cap-mb", type=int, default=1024)
    parser.add_argument("--fit-mb", type=int, default=100)
    parser.add_argument("--stacks", default=",".join(STACKS))
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-streaming-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIP_", "CLOUD_ML_"))}
    env |= {"TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": "2"}
    large = None if options.skip_large else write_table(work / "large", int(options.gb * 1e9))
    fits = None if options.skip_speed else write_table(work / "fits", options.fit_mb * 1_000_000)
    for stack in options.stacks.split(","):
        answers = {
            "project_name": f"bench-{stack.replace('_', '-')}",
            "task": "tabular_classification",
            "label_column": "outcome",
            **STACKS[stack],
        }
        project = render_to(answers, work / "projects" / stack)
        if large is not None:
            capped = env | {"STREAM_MEMORY_BYTES": str(options.cap_mb * 1_000_000)}
            run = train(project, stack, large["glob"], "on", work / "out" / stack / "large", capped)
            run |= {"under_cap": run.get("peak_rss_mb", 1e9) < options.cap_mb}
            print(json.dumps({"stack": stack, "table_mb": round(large["bytes"] / 1e6), **run}))
        if fits is not None:
            rates = {}
            for mode in ("off", "on"):
                run = train(project, stack, fits["glob"], mode, work / "out" / stack / mode, env)
                if "error" not in run:
                    # PyTorch's metrics count validation rows only: the rest trains.
                    rows = run["train_rows"] or fits["rows"] - run.get("validation_rows", 0)
                    run["samples_per_second"] = round(rows * epochs_of(stack) / run["seconds"])
                    rates[mode] = run["samples_per_second"]
                print(
                    json.dumps(
                        {"stack": stack, "table_mb": options.fit_mb, "streaming": mode, **run}
                    )
                )
            if len(rates) == 2:
                print(
                    json.dumps(
                        {
                            "stack": stack,
                            "streamed_over_in_memory": round(rates["on"] / rates["off"], 2),
                        }
                    )
                )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
