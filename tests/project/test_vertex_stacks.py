"""Every trainer stack's Vertex AI job, for every hardware and distribution target the engine
can pick for it: the project is generated through the real pipeline, submit.py's dry run
builds the job with the real SDK offline, and the request is checked against the
recommendation, the trainer's own argument parser and its hyperparameters.json.

Each target runs untuned on on-demand machines, and once more tuned (the algorithm rotates
over random, grid and Bayesian) on Spot VMs; the PyTorch/XLA targets run one of the two.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from advisor.project.render import select_stack
from tests.helpers.gen import recommendation_for, render_to
from tests.helpers.targets import TARGETS, answers_for
from tests.helpers.vertex import REPO, check_custom_job, dry_run, ruff

TUNED = ["random", "grid", "bayesian"]


def cases() -> list[Any]:
    found = []
    for index, (name, framework, extra, _, _) in enumerate(TARGETS):
        variants = [("none", False), (TUNED[index % 3], True)]
        for tuning, spot in variants:
            answers = answers_for(framework, extra, tuning, spot)
            stack = select_stack(recommendation_for(answers))
            # The PyTorch/XLA trainer's parser runs in .venv-xla (a slow import of torch_xla):
            # one variant of each of its targets, alternating.
            if stack == "pytorch_xla" and (tuning == "none") != (index % 2 == 1):
                continue
            if (REPO / "templates" / "stacks" / stack).is_dir():
                label = f"{stack}-{name}-{tuning}{'-spot' if spot else ''}"
                found.append(pytest.param(answers, id=label))
    return found


@pytest.mark.parametrize("answers", cases())
def test_stack_job_matches_the_recommendation(answers: dict[str, Any], tmp_path: Path) -> None:
    rec = recommendation_for(answers)
    project = render_to(answers, tmp_path / "project")
    for name in ("submit.py", "vertex_dry_run.py", "Dockerfile"):
        assert (project / name).is_file(), name
    tuned = rec.choice("hp_search") != "none"
    assert (project / "best_trial.py").is_file() == tuned
    check_custom_job(dry_run(project), rec, project)
    # The generated Python passes ruff as well as black (the pipeline formats it).
    names = [
        "submit.py",
        "vertex_dry_run.py",
        "best_trial.py",
        "tests/test_vertex_job.py",
        "tests/test_best_trial.py",
    ]
    assert ruff([project / n for n in names if (project / n).exists()]) == ""


@pytest.mark.parametrize(
    ("extra", "expected", "absent"),
    [
        (
            {
                "framework": "tensorflow",
                "task": "image_classification",
                "model_family": "cnn",
                "model_parameters": 200_000_000,
            },
            [
                "IMAGE=us-central1-docker.pkg.dev/acme-ml/training/demo-job:$(git rev-parse",
                "docker build --platform linux/amd64 -t $IMAGE",
                "`ct5lp-hightpu-",  # today's TPU v5e from the catalogue (the exam's v3-8 is legacy)
                "(topology ",
            ],
            ["best_trial.py"],
        ),
        (
            {
                "framework": "pytorch",
                "hyperparameters": 3,
                "fault_tolerant": True,
                "model_parameters": 200_000_000,
                "max_machines": 2,
            },
            [
                "HyperparameterTuningJob over a CustomJob",
                "python best_trial.py",
                "decay-curve",
                "Spot VMs",
                "2 machines (pool 0 the chief, pool 1 the workers)",
                # served by its own container, so it trains in the image of the same pins
                "The job runs the image built from the `Dockerfile`",
            ],
            [],
        ),
        (
            {"framework": "tensorflow", "large_embeddings": True, "max_machines": 4},
            ["parameter server(s) on `n1-highmem-16` in pool 2"],
            ["Spot VMs", "best_trial.py"],
        ),
    ],
)
def test_submit_instructions(extra: dict[str, Any], expected: list[str], absent: list[str]) -> None:
    """The README section on submitting (templates/layers/custom_training/_vertex_submit.md.j2)."""
    from advisor.project.render import _environment, build_context
    from advisor.project.stacks import select_stack_manifest

    answers = {"project_name": "demo-job", "gcp_project": "acme-ml", **extra}
    rec = recommendation_for(answers)
    stack = select_stack_manifest(rec)
    env = _environment([layer.folder for layer in reversed(stack.overlay)])
    text = env.get_template("_vertex_submit.md.j2").render(build_context(rec, stack))
    assert "## Submitting to Vertex AI" in text and "{{" not in text
    for snippet in expected:
        assert snippet in text, snippet
    for snippet in absent:
        assert snippet not in text, snippet
