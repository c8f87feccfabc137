"""`advisor new`: the pipeline, its safety (refusal, atomic write), --pretend and --diff."""

from __future__ import annotations

import ast
import hashlib
import json
import os
from pathlib import Path

import black
import pytest
import yaml

from advisor import __version__
from advisor.errors import AdvisorError, TemplateBug
from advisor.project import generate
from advisor.project.generate import ANSWERS_FILE, BASE_FILE, build_project, generate_project
from tests.conftest import REPO, run_advisor

EXAMPLE = REPO / "examples" / "tabular-sklearn.yml"
ANSWERS = yaml.safe_load(EXAMPLE.read_text())


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under root: content hash (or 'dir') and mtime in ns."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        kind = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        out[rel] = (kind, path.stat().st_mtime_ns)
    return out


@pytest.fixture(scope="module")
def project() -> generate.Project:
    return build_project(ANSWERS)


def test_project_files_are_formatted_parsed_and_free_of_jinja(project: generate.Project) -> None:
    assert project.stack == "scikit_learn"
    assert {"README.md", "Makefile", "requirements.txt", "trainer/task.py", ANSWERS_FILE} <= set(
        project.files
    )
    mode = black.Mode(line_length=100)
    for rel, text in project.files.items():
        bare = text.replace("${{", "")  # a GitHub Actions expression, not Jinja
        assert "{{" not in bare and "{%" not in bare, rel
        if rel.endswith(".py"):
            ast.parse(text, filename=rel)
            assert black.format_str(text, mode=mode) == text, f"{rel} is not black-formatted"
        if rel.endswith(".json"):
            json.loads(text)


def test_answers_file_records_answers_versions_and_every_decision(
    project: generate.Project,
) -> None:
    data = yaml.safe_load(project.files[ANSWERS_FILE])
    assert data["advisor_version"] == __version__
    assert data["rules_version"] == generate.rules_version()
    assert len(data["rules_version"]) == 12
    assert data["stack"] == "scikit_learn"
    assert data["answers"] == project.answers
    assert data["answers"]["label_column"] == "churned"
    expected = {"service", "framework", "hardware", "distribution", "hp_search", "compression"}
    assert expected <= set(data["decisions"])
    for name, decision in data["decisions"].items():
        assert decision["rule"] and decision["because"] and decision["choice"], name
    assert data["decisions"]["hp_search"]["choice"] == "grid"
    assert data["cost"]["rule"]


def test_base_snapshot_holds_the_generated_files(project: generate.Project) -> None:
    base = json.loads(project.files[BASE_FILE])
    assert base["files"] == project.generated
    assert ANSWERS_FILE not in base["files"]


def test_rules_version_changes_with_the_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text("x: 1\n")
    first = generate.rules_version(rules)
    (rules / "a.yaml").write_text("x: 2\n")
    generate.rules_version.cache_clear()
    assert generate.rules_version(rules) != first


def test_new_writes_the_project_and_it_can_be_regenerated_from_its_answers(
    tmp_path: Path,
) -> None:
    out = tmp_path / "proj"
    result = run_advisor("new", "--answers", str(EXAMPLE), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "trainer/" in result.stdout or "trainer" in result.stdout
    assert (out / "trainer" / "task.py").is_file()
    assert (out / ANSWERS_FILE).is_file()
    # The project's own answers file is a valid --answers input and gives the same project.
    again = tmp_path / "again"
    result = run_advisor("new", "--answers", str(out / ANSWERS_FILE), "--output", str(again))
    assert result.returncode == 0, result.stderr
    for path in out.rglob("*"):
        if path.is_file():
            rel = path.relative_to(out)
            assert (again / rel).read_bytes() == path.read_bytes(), rel
    # No temporary folder is left beside the target.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "proj"]


def test_default_output_is_the_project_name(tmp_path: Path) -> None:
    result = run_advisor("new", "--answers", str(EXAMPLE), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "churn-sklearn" / "Makefile").is_file()


def test_non_empty_folder_is_refused_and_left_byte_for_byte_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "proj"
    (out / "trainer").mkdir(parents=True)
    (out / "notes.txt").write_text("mine\n")
    (out / "trainer" / "task.py").write_text("print('my own trainer')\n")
    os.utime(out / "notes.txt", ns=(1_000_000_000, 1_000_000_000))
    before = tree_digest(tmp_path)
    result = run_advisor("new", "--answers", str(EXAMPLE), "--output", str(out))
    assert result.returncode == 2
    assert "not empty" in result.stderr and "--force" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_digest(tmp_path) == before


def test_force_writes_into_a_non_empty_folder_and_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "proj"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    result = run_advisor("new", "--answers", str(EXAMPLE), "--output", str(out), "--force")
    assert result.returncode == 0, result.stderr
    assert (out / "notes.txt").read_text() == "mine\n"
    assert (out / "trainer" / "task.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


def test_force_refuses_a_folder_where_a_file_must_go_before_touching_anything(
    tmp_path: Path,
) -> None:
    out = tmp_path / "proj"
    (out / "Makefile").mkdir(parents=True)  # a folder where the project writes a file
    (out / "keep.txt").write_text("x")
    before = tree_digest(tmp_path)
    with pytest.raises(AdvisorError, match="is a folder"):
        generate_project(ANSWERS, out, force=True)
    assert tree_digest(tmp_path) == before


def test_interrupted_render_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = generate.write_file
    calls = []

    def failing_write(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C in the middle of writing
        real_write(path, text)

    monkeypatch.setattr(generate, "write_file", failing_write)
    out = tmp_path / "proj"
    with pytest.raises(KeyboardInterrupt):
        generate_project(ANSWERS, out)
    assert len(calls) == 4
    assert list(tmp_path.iterdir()) == []  # no project, no temporary folder


def test_interrupted_render_into_an_existing_empty_folder_keeps_it_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_write(path: Path, text: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(generate, "write_file", failing_write)
    out = tmp_path / "proj"
    out.mkdir()
    with pytest.raises(OSError):
        generate_project(ANSWERS, out)
    assert [p.name for p in tmp_path.iterdir()] == ["proj"]
    assert list(out.iterdir()) == []


def test_pretend_prints_the_tree_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "proj"
    result = run_advisor("new", "--answers", str(EXAMPLE), "--output", str(out), "--pretend")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{out}/"
    assert any(line.endswith("── trainer/") for line in lines)
    assert any(line.endswith("── task.py") for line in lines)
    assert any(line.endswith("── .advisor-answers.yml") for line in lines)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_pretend_diff_shows_what_would_change_on_disk(tmp_path: Path) -> None:
    out = tmp_path / "proj"
    assert run_advisor("new", "--answers", str(EXAMPLE), "--output", str(out)).returncode == 0
    before = tree_digest(tmp_path)
    result = run_advisor(
        "new",
        "--answers",
        str(EXAMPLE),
        "--output",
        str(out),
        "--pretend",
        "--diff",
        "--set",
        "hyperparameters=1",
    )
    assert result.returncode == 0, result.stderr
    assert "--- a/trainer/hyperparameters.json" in result.stdout
    assert "+++ b/trainer/hyperparameters.json" in result.stdout
    assert '-    {"id": "max_iter"' in result.stdout
    assert "a/trainer/task.py" not in result.stdout  # unchanged files are not shown
    assert "writing needs --force" in result.stderr
    assert tree_digest(tmp_path) == before
    # Against an empty target every file is new.
    fresh = run_advisor(
        "new", "--answers", str(EXAMPLE), "--output", str(tmp_path / "none"), "--pretend", "--diff"
    )
    assert "--- /dev/null\n+++ b/Makefile" in fresh.stdout


def test_bad_answers_exit_2_naming_file_field_and_allowed(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("project_name: Bad Name\n")
    result = run_advisor("new", "--answers", str(bad), "--output", str(tmp_path / "p"))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "project_name" in result.stderr
    assert "slug" in result.stderr and "Traceback" not in result.stderr
    result = run_advisor(
        "new", "--answers", str(EXAMPLE), "--set", "max_machines=0", "--output", str(tmp_path / "p")
    )
    assert result.returncode == 2 and "--set" in result.stderr and "max_machines" in result.stderr
    assert not (tmp_path / "p").exists()


def _templates(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "templates"
    (root / "stacks" / "scikit_learn").mkdir(parents=True)
    (root / "context.yaml").write_text("facts: {}\n")
    (root / "stacks" / "scikit_learn" / "stack.yaml").write_text(
        "when: {fact: service, eq: custom_training}\n"
    )
    (root / "stacks" / "scikit_learn" / "out.py.j2").write_text(text)
    return root


def test_jinja_left_in_the_output_is_a_template_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "ADVISOR_TEMPLATES_DIR", str(_templates(tmp_path, "X = \"{{ '{{' }} x }}\"\n"))
    )
    with pytest.raises(TemplateBug, match=r"out.py: '\{\{' left over at line 1: a template bug"):
        build_project(ANSWERS)
    assert TemplateBug.exit_code == 70  # the tool's fault, told apart from bad input (2)


def test_jinja_syntax_in_a_user_string_is_not_mistaken_for_a_leftover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _templates(tmp_path, "LABEL = {{ answers.label_column | py }}\n")
    monkeypatch.setenv("ADVISOR_TEMPLATES_DIR", str(root))
    project = build_project({**ANSWERS, "label_column": "{{ a }} {% b %}"})
    assert project.files["out.py"] == 'LABEL = "{{ a }} {% b %}"\n'


def test_generated_python_that_does_not_parse_is_a_template_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_TEMPLATES_DIR", str(_templates(tmp_path, "def broken(:\n")))
    with pytest.raises(AdvisorError, match=r"generated out.py is not valid Python \(line 1"):
        build_project(ANSWERS)


def test_generated_python_is_black_formatted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_TEMPLATES_DIR", str(_templates(tmp_path, "x = {'a':1,\n'b':2}\n")))
    assert build_project(ANSWERS).files["out.py"] == 'x = {"a": 1, "b": 2}\n'
