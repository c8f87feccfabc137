"""Writes stay inside the project and happen all or nothing; OS errors are messages (review
F4, F7, F9, F10, F11, F12, F14, F15, F16, F19, F22, F23, F28, F29, F30)."""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
import yaml

from advisor.cli import main
from advisor.fileio import run_lock
from advisor.project import generate, staging
from tests.reliability.conftest import EXAMPLE, advisor, clean_exit, tree_digest


def _edit_base(project: Path, **files: str) -> None:
    path = project / ".advisor" / "base.json"
    data = json.loads(path.read_text())
    data["files"].update(files)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("key", ["../victim.txt", "ABSOLUTE", "trainer/../../victim.txt", "./x"])
def test_f4_base_json_paths_outside_the_project_are_refused(
    key: str, tmp_path: Path, project: Path, env: dict[str, str]
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious data\n")  # equal to its base entry: the old rule removed it
    key = str(victim) if key == "ABSOLUTE" else key
    _edit_base(project, **{key: "precious data\n"})
    before = tree_digest(tmp_path)
    err = clean_exit(advisor("update", str(project), env=env))
    assert f"base.json: path '{key}': not allowed" in err
    assert tree_digest(tmp_path) == before


def test_f7_update_does_not_write_through_a_folder_link_out_of_the_project(
    tmp_path: Path, project: Path, env: dict[str, str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(project / "tests")
    (project / "tests").symlink_to(outside)
    path = project / ".advisor" / "base.json"
    data = json.loads(path.read_text())
    data["files"] = {k: v for k, v in data["files"].items() if not k.startswith("tests/")}
    path.write_text(json.dumps(data))
    err = clean_exit(advisor("update", str(project), env=env))
    assert "leads outside" in err
    assert list(outside.iterdir()) == []


def test_f7_new_force_does_not_write_through_a_folder_link(
    tmp_path: Path, project: Path, env: dict[str, str]
) -> None:
    outside = tmp_path / "outside2"
    outside.mkdir()
    shutil.rmtree(project / "trainer")
    (project / "trainer").symlink_to(outside)
    result = advisor("new", "--answers", str(EXAMPLE), "--output", str(project), "--force", env=env)
    assert "leads outside" in clean_exit(result)
    assert list(outside.iterdir()) == []


def _interrupt_after(monkeypatch: pytest.MonkeyPatch, renames: int) -> None:
    """Make the switch-over stop after `renames` renames, as a power cut or SIGKILL would."""
    real = os.replace
    done = []

    def replace(src: object, dst: object) -> None:
        if staging.STAGING in str(src):  # a rename of the switch-over, not a cache write
            if len(done) == renames:
                raise SystemExit("killed")
            done.append(dst)
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(staging.os, "replace", replace)


def test_f9_f10_an_interrupted_switch_over_is_finished_by_the_next_run(
    project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    _interrupt_after(monkeypatch, 3)
    with pytest.raises(SystemExit):
        main(["update", str(project), "--set", "framework=xgboost"])
    assert (project / staging.JOURNAL).is_file()  # half switched, and the journal says so
    monkeypatch.undo()
    result = advisor("update", str(project), env=env)
    assert result.returncode == 0, result.stderr
    assert not (project / staging.JOURNAL).exists() and not (project / staging.STAGING).exists()
    record = yaml.safe_load((project / ".advisor-answers.yml").read_text())
    assert record["answers"]["framework"] == "xgboost"
    assert "xgboost" in (project / "requirements.txt").read_text()
    assert "xgboost" in (project / "trainer" / "model.py").read_text()
    assert "nothing to change" in advisor("update", str(project), "--pretend", env=env).stdout


def test_f9_new_force_interrupted_while_staging_leaves_the_project_as_it_was(
    project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    before = tree_digest(project)
    calls = []

    def full_disk(path: Path, text: str) -> None:
        calls.append(path)
        if len(calls) == 5:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        generate.write_file(path, text)

    monkeypatch.setattr(staging, "write_staged", full_disk)
    monkeypatch.setattr(generate, "write_file", full_disk)
    code = main(
        [
            "new",
            "--answers",
            str(EXAMPLE),
            "--set",
            "framework=xgboost",
            "-o",
            str(project),
            "--force",
        ]
    )
    assert code == 2
    assert tree_digest(project) == before  # no half-new project, no stray partial files


def test_f10_a_folder_blocked_by_a_file_is_refused_before_any_write(
    project: Path, env: dict[str, str]
) -> None:
    shutil.rmtree(project / "trainer")
    (project / "trainer").write_text("not a folder\n")
    before = tree_digest(project)
    err = clean_exit(advisor("update", str(project), "--set", "framework=xgboost", env=env))
    assert "trainer: is a file; the project needs a folder there" in err
    assert tree_digest(project) == before


def test_f11_a_second_run_on_the_same_project_is_refused(
    project: Path, env: dict[str, str]
) -> None:
    with run_lock(project):
        result = advisor("update", str(project), "--set", "hyperparameters=3", env=env)
        err = clean_exit(result)
        assert "another advisor run is changing this folder" in err
        forced = advisor(
            "new", "--answers", str(EXAMPLE), "--output", str(project), "--force", env=env
        )
        assert "another advisor run" in clean_exit(forced)
    assert advisor("update", str(project), "--set", "hyperparameters=3", env=env).returncode == 0


def test_f11_concurrent_quiz_sessions_keep_each_others_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from advisor.quiz.progress import Progress

    path = tmp_path / "quiz_progress.json"
    first, second = Progress.load(path), Progress.load(path)
    first.start_session()
    second.start_session()
    first.record("scenario-a", True)
    assert first.save() is None
    second.record("scenario-b", False)
    assert second.save() is None
    final = Progress.load(path)
    assert set(final.cards) == {"scenario-a", "scenario-b"}
    assert final.session == 2


@pytest.mark.parametrize(
    "case", ["under-a-file", "dangling-link", "name-too-long", "graph-missing", "graph-folder"]
)
def test_f12_os_errors_are_messages(case: str, tmp_path: Path, env: dict[str, str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nonexistent" / "x")
    (tmp_path / "dir.md").mkdir()
    new = ("new", "--answers", str(EXAMPLE), "--output")
    args = {
        "under-a-file": (*new, str(afile / "sub")),
        "dangling-link": (*new, str(tmp_path / "dangling")),
        "name-too-long": (*new, str(tmp_path / ("x" * 300))),
        "graph-missing": ("rules", "graph", "--output", str(tmp_path / "nonexistent" / "x.md")),
        "graph-folder": ("rules", "graph", "--output", str(tmp_path / "dir.md")),
    }[case]
    err = clean_exit(advisor(*args, env=env))
    assert err.startswith(f"advisor: error: {tmp_path}")


def test_f12_a_read_only_or_full_disk_is_a_message(
    tmp_path: Path,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def read_only(path: Path, text: str) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(generate, "write_file", read_only)
    assert main(["new", "--answers", str(EXAMPLE), "--output", str(tmp_path / "p")]) == 2
    assert "Read-only file system" in capsys.readouterr().err
    assert list(tmp_path.glob("*p*")) == []


def test_f14_crlf_line_endings_survive_update(project: Path, env: dict[str, str]) -> None:
    readme = project / "README.md"
    readme.write_bytes(readme.read_bytes().replace(b"\n", b"\r\n"))
    result = advisor("update", str(project), "--set", "hyperparameters=3", env=env)
    assert result.returncode == 0, result.stderr
    data = readme.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") > 10


def test_f15_comments_in_the_answers_record_survive_update(
    project: Path, env: dict[str, str]
) -> None:
    record = project / ".advisor-answers.yml"
    text = record.read_text()
    assert "\n  hyperparameters: 2\n" in text
    text = text.replace("\n  hyperparameters: 2\n", "\n  hyperparameters: 3  # see ticket 42\n")
    text = text.replace("\n  region:", "\n  # the region our data lives in\n  region:")
    record.write_text(text + "# my own note\n")
    result = advisor("update", str(project), "--set", "max_machines=2", env=env)
    assert result.returncode == 0, result.stderr
    after = record.read_text()
    assert "  hyperparameters: 3  # see ticket 42\n" in after
    assert "  # the region our data lives in\n  region:" in after
    assert after.endswith("# my own note\n")
    assert yaml.safe_load(after)["answers"]["max_machines"] == 2


def test_f16_an_empty_folder_is_filled_in_place(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "priv"
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    inode = folder.stat().st_ino
    result = advisor("new", "--answers", str(EXAMPLE), "--output", ".", env=env, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert folder.stat().st_ino == inode and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / "trainer" / "task.py").is_file() and not (folder / staging.STAGING).exists()


def test_f19_a_linked_file_is_written_through(project: Path, env: dict[str, str]) -> None:
    (project / "docs").mkdir()
    (project / "README.md").rename(project / "docs" / "README.md")
    (project / "README.md").symlink_to("docs/README.md")
    result = advisor("update", str(project), "--set", "hyperparameters=3", env=env)
    assert result.returncode == 0, result.stderr
    assert (project / "README.md").is_symlink()
    assert "3" in (project / "docs" / "README.md").read_text()


def test_f19_a_linked_quiz_progress_file_stays_a_link(tmp_path: Path) -> None:
    from advisor.quiz.progress import Progress

    (tmp_path / "dotfiles").mkdir()
    target = tmp_path / "dotfiles" / "quiz_progress.json"
    link = tmp_path / "quiz_progress.json"
    link.symlink_to(target)
    progress = Progress.load(link)
    progress.start_session()
    progress.record("scenario-a", True)
    assert progress.save() is None
    assert link.is_symlink() and "scenario-a" in target.read_text()


def test_f22_output_the_terminal_cannot_encode_does_not_fail_the_run(
    tmp_path: Path, env: dict[str, str]
) -> None:
    for encoding in ("ascii", "latin-1"):
        out = tmp_path / encoding
        result = advisor(
            "new",
            "--answers",
            str(EXAMPLE),
            "--output",
            str(out),
            env={**env, "PYTHONIOENCODING": encoding},
        )
        assert result.returncode == 0, result.stderr
        assert "Wrote" in result.stdout


def test_f23_a_closed_pipe_on_table_output_is_exit_0(monkeypatch: pytest.MonkeyPatch) -> None:
    class ClosedPipe(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.devnull = os.open(os.devnull, os.O_WRONLY)

        def fileno(self) -> int:
            return self.devnull

        def write(self, text: str) -> int:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["rules", "list"]) == 0


def test_f28_stray_staging_and_temporary_folders_are_swept(
    tmp_path: Path, project: Path, env: dict[str, str]
) -> None:
    (project / staging.STAGING).mkdir(parents=True)
    (project / staging.STAGING / "00001").write_text("half")
    stale = tmp_path / ".fresh.abc123.advisor-tmp"
    stale.mkdir()
    os.utime(stale, (0, 0))
    assert advisor("update", str(project), env=env).returncode == 0
    assert not (project / staging.STAGING).exists()
    result = advisor("new", "--answers", str(EXAMPLE), "--output", str(tmp_path / "fresh"), env=env)
    assert result.returncode == 0, result.stderr
    assert not stale.exists()


def test_f29_pretend_refuses_what_the_real_run_refuses(tmp_path: Path, env: dict[str, str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    for extra in ((), ("--diff",)):
        result = advisor(
            "new", "--answers", str(EXAMPLE), "--output", str(afile), "--pretend", *extra, env=env
        )
        assert "exists and is not a folder" in clean_exit(result)


def test_f30_examples_and_rules_doc_checks_refuse_without_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from advisor.project import examples

    monkeypatch.setattr(examples, "repo_root", lambda: tmp_path)  # a wheel: no examples/
    assert main(["examples", "--check"]) == 2
    monkeypatch.setenv("ADVISOR_RULES_DIR", str(tmp_path / "rules"))
    shutil.copytree(Path(__file__).resolve().parents[2] / "rules", tmp_path / "rules")
    assert main(["rules", "doc", "--check"]) == 2  # no docs/ beside the rules
    err = capsys.readouterr().err
    assert "no examples folder" in err and "no docs folder" in err
