"""`advisor update`: re-render from the stored answers, merge three-way, keep the user's work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from advisor.answers import ANSWERS_FILE
from advisor.project.generate import BASE_FILE, generate_project
from advisor.project.update import _merge_file, update_project
from tests.conftest import REPO, run_advisor

ANSWERS = yaml.safe_load((REPO / "examples" / "tabular-sklearn.yml").read_text())


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    out = tmp_path / "proj"
    generate_project(ANSWERS, out)
    return out


def test_edit_survives_an_answer_change(project: Path) -> None:
    task = project / "trainer" / "task.py"
    task.write_text(task.read_text() + "\n# my own note\n")
    readme = project / "README.md"
    readme.write_text(
        readme.read_text().replace("## Run it\n", "## Run it\n\nAsk the team first.\n")
    )
    result = run_advisor("update", str(project), "--set", "hyperparameters=1")
    assert result.returncode == 0, result.stderr
    assert "updated  trainer/hyperparameters.json" in result.stdout
    assert task.read_text().endswith("\n# my own note\n")
    assert "Ask the team first." in readme.read_text()
    spec = json.loads((project / "trainer" / "hyperparameters.json").read_text())
    assert [p["id"] for p in spec["parameters"]] == ["learning_rate"]
    stored = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert stored["answers"]["hyperparameters"] == 1
    # The new generation is the next base: updating again changes nothing.
    again = run_advisor("update", str(project))
    assert again.returncode == 0 and "up to date" in again.stdout
    assert task.read_text().endswith("\n# my own note\n")


def test_answers_edited_in_the_answers_file_are_applied(project: Path) -> None:
    answers_file = project / ANSWERS_FILE
    answers_file.write_text(
        answers_file.read_text().replace("hyperparameters: 2", "hyperparameters: 0")
    )
    result = update_project(project)
    assert not result.conflicts
    spec = json.loads((project / "trainer" / "hyperparameters.json").read_text())
    assert spec["parameters"] == [] and spec["search_algorithm"] == "none"


def test_a_deleted_file_stays_deleted_even_when_the_template_changes_it(project: Path) -> None:
    smoke = project / "tests" / "test_smoke.py"
    smoke.unlink()
    result = run_advisor("update", str(project), "--set", "hyperparameters=0")
    assert result.returncode == 0, result.stderr
    assert "kept-deleted  tests/test_smoke.py" in result.stdout
    assert "not restored" in result.stdout
    assert not smoke.exists()
    assert "tests/test_smoke.py" in json.loads((project / BASE_FILE).read_text())["files"]
    # And on the next update, with nothing new, it is not even mentioned.
    assert "test_smoke" not in run_advisor("update", str(project)).stdout
    assert not smoke.exists()


def test_overlapping_changes_get_conflict_markers_and_are_listed(project: Path) -> None:
    spec_path = project / "trainer" / "hyperparameters.json"
    text = spec_path.read_text()
    spec_path.write_text(text.replace('"values": [50, 100, 200]', '"values": [25, 50, 100]'))
    result = run_advisor("update", str(project), "--set", "hyperparameters=1")
    assert result.returncode == 1
    assert "conflict  trainer/hyperparameters.json" in result.stdout
    assert str(spec_path) in result.stderr
    merged = spec_path.read_text()
    assert merged.count("<<<<<<< yours\n") == 1
    yours, rest = merged.split("<<<<<<< yours\n")[1].split("||||||| last generated\n")
    base, rest = rest.split("=======\n")
    theirs = rest.split(">>>>>>> regenerated\n")[0]
    assert "[25, 50, 100]" in yours and "[50, 100, 200]" in base
    assert "max_iter" not in theirs


def test_pretend_plans_without_writing(project: Path) -> None:
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    result = run_advisor("update", str(project), "--set", "hyperparameters=1", "--pretend")
    assert result.returncode == 0, result.stderr
    assert "updated  trainer/hyperparameters.json" in result.stdout
    assert "would change" in result.stdout
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


def test_without_a_snapshot_the_base_is_re_rendered_from_the_stored_answers(project: Path) -> None:
    (project / BASE_FILE).unlink()
    task = project / "trainer" / "task.py"
    task.write_text(task.read_text() + "# edit\n")
    result = run_advisor("update", str(project), "--set", "hyperparameters=1")
    assert result.returncode == 0, result.stderr
    assert "re-rendered" in result.stderr
    assert task.read_text().endswith("# edit\n")
    assert (project / BASE_FILE).is_file()


def test_update_outside_a_project_is_bad_input(tmp_path: Path) -> None:
    result = run_advisor("update", str(tmp_path))
    assert result.returncode == 2
    assert ".advisor-answers.yml" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_set_value_is_refused_before_anything_is_written(project: Path) -> None:
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    result = run_advisor("update", str(project), "--set", "hyperparameters=-1")
    assert (
        result.returncode == 2 and "--set" in result.stderr and "hyperparameters" in result.stderr
    )
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("base", "yours", "theirs", "action", "text", "write"),
    [
        ("a\n", "a\n", "b\n", "updated", "b\n", True),
        ("a\n", "x\n", "a\n", "unchanged", "x\n", False),  # your edit, nothing new
        ("a\n", "x\n", "x\n", "unchanged", "x\n", False),
        ("a\nb\nc\n", "A\nb\nc\n", "a\nb\nC\n", "merged", "A\nb\nC\n", True),
        ("a\n", "x\n", "y\n", "conflict", None, True),
        ("a\n", None, "b\n", "kept-deleted", None, False),
        ("a\n", None, "a\n", "unchanged", None, False),
        ("a\n", "a\n", None, "removed", None, True),  # the template dropped it; unedited
        ("a\n", "x\n", None, "kept", "x\n", False),  # dropped, but edited: kept
        (None, None, "n\n", "added", "n\n", True),
        (None, "n\n", "n\n", "unchanged", "n\n", False),
        (None, "mine\n", "n\n", "conflict", None, True),  # you made it too
    ],
)
def test_merge_file_table(
    base: str | None,
    yours: str | None,
    theirs: str | None,
    action: str,
    text: str | None,
    write: bool,
) -> None:
    change, new_text, should_write = _merge_file("f", base, yours, theirs)
    assert change.action == action
    assert should_write is write
    if text is not None:
        assert new_text == text
    if action == "conflict":
        assert new_text is not None and "<<<<<<< yours" in new_text
