"""The real `advisor wizard` in a real terminal (a pty through pexpect), start to finish."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import yaml

from advisor.engine import default_ruleset

ENV = {
    **os.environ,
    "TERM": "xterm-256color",
    "COLUMNS": "120",
    "LINES": "40",
    "PROMPT_TOOLKIT_NO_CPR": "1",  # the pty does not answer cursor-position requests
}


def spawn(*args: str, cwd: Path) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "advisor", *args],
        cwd=str(cwd),
        env=ENV,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.logfile_read = open(cwd / "terminal.log", "w")  # noqa: SIM115 - closed with the child
    return child


def test_wizard_in_a_terminal_reaches_a_generated_project(tmp_path: Path) -> None:
    child = spawn("wizard", cwd=tmp_path)
    child.expect_exact("Project name")
    child.send("\x15" + "term-proj\r")  # clear the default, type a name
    child.expect_exact("What should the model do?")
    child.send("\x1b[B\r")  # one down: tabular regression
    child.expect_exact("How many labeled examples do you have?")
    child.send("\x15" + "5000\r")
    # Every other question: accept the default, until the recommendation and the last prompts.
    # A prompt's text shows again when its answer is drawn; only a new prompt gets a key.
    prompts = [q.prompt for q in default_ruleset().questions.questions]
    patterns = [re.escape(p) for p in prompts] + [re.escape("Generate the project?")]
    last, asked = "How many labeled examples do you have?", 3
    while True:
        index = child.expect(patterns)
        if index == len(prompts):
            break
        if prompts[index] == last:
            continue
        last = prompts[index]
        child.send("\r")
        asked += 1
    assert asked > 10
    child.send("y")
    child.expect_exact("Output folder")
    child.send("\r")  # default: ./term-proj
    child.expect_exact("Wrote")
    child.expect(pexpect.EOF)
    child.close()
    log = (tmp_path / "terminal.log").read_text()
    assert child.exitstatus == 0, log[-3000:]
    assert "=> Service: Custom training" in log
    assert "=> Framework: scikit-learn" in log
    assert "Recommendation" in log
    stored = yaml.safe_load((tmp_path / "term-proj" / ".advisor-answers.yml").read_text())
    assert stored["answers"]["project_name"] == "term-proj"
    assert stored["answers"]["task"] == "tabular_regression"
    assert stored["answers"]["labeled_examples"] == 5000
    assert (tmp_path / "term-proj" / "trainer" / "task.py").is_file()


def test_ctrl_c_in_a_terminal_exits_130_and_offers_to_save(tmp_path: Path) -> None:
    child = spawn("wizard", cwd=tmp_path)
    child.expect_exact("Project name")
    child.send("\r")
    child.expect_exact("What should the model do?")
    child.sendcontrol("c")
    child.expect_exact("Save the 1 answers given so far?")
    child.send("y")
    child.expect_exact("Save them to")
    child.send("\r")  # default: answers.yml
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert yaml.safe_load((tmp_path / "answers.yml").read_text()) == {"project_name": "ml-project"}
