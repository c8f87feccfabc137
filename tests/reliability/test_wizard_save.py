"""The wizard never loses or clobbers answers (review F5, F8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.cli.wizard import run_wizard
from advisor.errors import AdvisorError
from tests.helpers.wizard import CLEAR, CTRL_C, ENTER, Piped

MINE = "# my carefully written answers\nproject_name: important\ntask: ocr\n"


@pytest.fixture(autouse=True)
def scratch_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_f5_saving_never_overwrites_an_existing_answers_file(
    ruleset: Any, pipe: Any, tmp_path: Path
) -> None:
    (tmp_path / "answers.yml").write_text(MINE)
    # Enter on "Project name", Ctrl-C, Enter = save, Enter = the offered name
    pipe.send_text(ENTER + CTRL_C + ENTER + ENTER)
    piped = Piped(ruleset, pipe)
    assert run_wizard(ui=piped.ui) == 130
    assert (tmp_path / "answers.yml").read_text() == MINE
    assert yaml.safe_load((tmp_path / "answers-1.yml").read_text()) == {
        "project_name": "ml-project"
    }


def test_f5_typing_an_existing_name_asks_before_replacing(
    ruleset: Any, pipe: Any, tmp_path: Path
) -> None:
    (tmp_path / "answers.yml").write_text(MINE)
    pipe.send_text(ENTER + CTRL_C + ENTER + CLEAR + "answers.yml" + ENTER)
    pipe.send_text("n")  # do not replace: asked again, with a fresh name offered
    pipe.send_text(ENTER)
    piped = Piped(ruleset, pipe)
    assert run_wizard(ui=piped.ui) == 130
    assert "answers.yml exists. Replace it?" in piped.ui.messages
    assert (tmp_path / "answers.yml").read_text() == MINE
    assert (tmp_path / "answers-1.yml").is_file()


@pytest.mark.parametrize("bad", ["adir", "nope/x.yml"])
def test_f8_a_name_that_cannot_be_written_is_asked_again(
    bad: str, ruleset: Any, pipe: Any, tmp_path: Path
) -> None:
    (tmp_path / "adir").mkdir()
    pipe.send_text(ENTER + CTRL_C + ENTER + CLEAR + bad + ENTER + CLEAR + "kept.yml" + ENTER)
    piped = Piped(ruleset, pipe)
    assert run_wizard(ui=piped.ui) == 130
    assert piped.ui.messages.count("Save them to") == 2
    assert yaml.safe_load((tmp_path / "kept.yml").read_text()) == {"project_name": "ml-project"}


def test_f8_ctrl_d_stops_like_ctrl_c_and_offers_to_save(
    ruleset: Any, pipe: Any, tmp_path: Path
) -> None:
    # Answer the name, then the keys end (what Ctrl-D on a prompt gives: EOFError)
    pipe.send_text(ENTER)
    piped = Piped(ruleset, pipe)
    assert run_wizard(ui=piped.ui) == 130
    assert "Save the 1 answers given so far?" in piped.ui.messages


def test_f8_an_output_that_is_a_file_is_refused_before_the_interview(
    ruleset: Any, pipe: Any, tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("x")
    piped = Piped(ruleset, pipe)
    with pytest.raises(AdvisorError, match="afile: exists and is not a folder"):
        run_wizard(ui=piped.ui, output=tmp_path / "afile")
    assert piped.ui.messages == []  # not one question asked


def test_f8_a_failed_generation_offers_to_save_the_answers(
    ruleset: Any, pipe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from advisor.cli import project

    def fails(*args: Any, **kwargs: Any) -> int:
        raise AdvisorError("disk trouble")

    monkeypatch.setattr(project, "generate_and_report", fails)
    others = 40  # more Enters than questions: the defaults, then "Generate the project?"
    pipe.send_text(ENTER * others)
    piped = Piped(ruleset, pipe)
    code = run_wizard(ui=piped.ui, output=tmp_path / "out")
    assert code == 2
    assert "Save the answers to a file?" in piped.ui.messages
    assert (tmp_path / "answers.yml").is_file()
