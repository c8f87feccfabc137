"""Shared by the compression tests of the TensorFlow and PyTorch stacks (no tests of its own)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers.gen import render_to

ROOT_ANSWERS: dict[str, Any] = {"project_name": "compress-demo", "task": "tabular_classification"}


def run_env() -> dict[str, str]:
    """No Vertex AI variables leak in; one thread per process (the test machine is shared)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIP_", "CLOUD_ML_"))}
    env.update({"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
    return env


def run_checked(command: list[str], cwd: Path, timeout: int = 600) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=run_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def run_optimize(project: Path, flags: list[str]) -> subprocess.CompletedProcess[str]:
    """`python -m trainer.optimize FLAGS` in a generated project, output captured."""
    command = [sys.executable, "-m", "trainer.optimize", *flags]
    return subprocess.run(
        command, cwd=project, env=run_env(), capture_output=True, text=True, timeout=600
    )


def ok_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in report["baseline"] + report["steps"] if r["status"] == "ok"]


def step_rows(report: dict[str, Any], step: str) -> list[dict[str, Any]]:
    return [r for r in report["steps"] if r["step"] == step]


def check_rows_match_files(report: dict[str, Any], project: Path) -> None:
    """Each measured row's sizes are those of the file it names."""
    for row in ok_rows(report):
        blob = (project / row["artifact"]).read_bytes()
        assert row["size_bytes"] == len(blob), row["artifact"]
        assert row["gzip_bytes"] == len(gzip.compress(blob, compresslevel=9, mtime=0))


def final_cut_pct(report: dict[str, Any], project: Path) -> float:
    """The shipped model's size cut against the trained model in the same format, re-measured."""
    final = next(r for r in reversed(report["steps"]) if r["chained"] and r["status"] == "ok")
    base = next(r for r in report["baseline"] if r["format"] == final["format"])
    size = (project / final["artifact"]).stat().st_size
    return 100.0 * (1.0 - size / (project / base["artifact"]).stat().st_size)


class Lab:
    """Generated projects of one stack that share a teacher trained once.

    The scenarios differ only in their deployment answers, so their trainer code is the same
    (checked): each project's own `python -m trainer.optimize` runs on the shared model and data.
    """

    def __init__(
        self,
        workdir: Path,
        answers: dict[str, dict[str, Any]],
        train_flags: list[str],
        optimize_flags: list[str],
        rows: int,
    ) -> None:
        self.workdir = workdir
        self.answers = answers
        self.train_flags = train_flags
        self.optimize_flags = optimize_flags
        self.rows = rows
        self._teacher: Path | None = None
        self._reports: dict[str, tuple[Path, dict[str, Any]]] = {}

    def teacher(self) -> Path:
        """A project trained once, with its validation arrays in out/arrays.npz."""
        if self._teacher is None:
            project = render_to(next(iter(self.answers.values())), self.workdir / "teacher")
            python = sys.executable
            run_checked([python, "data/make_sample.py", "--rows", str(self.rows)], project)
            outputs = ["--model_dir=out/model", "--checkpoint_dir=out/checkpoints"]
            outputs.append("--tensorboard_dir=out/logs")
            run_checked([python, "-m", "trainer.task", *outputs, *self.train_flags], project)
            code = "import numpy as np; from trainer.data import load_arrays; "
            code += "np.savez('out/arrays.npz', *load_arrays('data/sample.csv'))"
            run_checked([python, "-c", code], project)
            self._teacher = project
        return self._teacher

    def validation(self) -> tuple[Any, Any]:
        import numpy as np

        with np.load(self.teacher() / "out" / "arrays.npz") as arrays:
            return arrays["arr_2"], arrays["arr_3"]

    def optimized(self, name: str) -> tuple[Path, dict[str, Any]]:
        """Render the scenario's project and run its optimize step on the shared teacher."""
        if name not in self._reports:
            teacher = self.teacher()
            project = render_to(self.answers[name], self.workdir / name)
            for shared in ("trainer/model.py", "trainer/data.py", "trainer/task.py"):
                assert (project / shared).read_text() == (teacher / shared).read_text(), shared
            command = [sys.executable, "-m", "trainer.optimize"]
            command += [f"--model_dir={teacher / 'out' / 'model'}"]
            command += [f"--data={teacher / 'data' / 'sample.csv'}", *self.optimize_flags]
            run_checked(command, project, timeout=900)
            report = json.loads((project / "compression_report.json").read_text())
            self._reports[name] = (project, report)
        return self._reports[name]

    def run_generated_tests(self, name: str) -> None:
        project, _ = self.optimized(name)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        out = run_checked([*command, "tests/test_optimize.py"], project, timeout=900)
        assert " passed" in out and "failed" not in out, out[-3000:]
