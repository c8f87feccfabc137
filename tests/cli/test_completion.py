"""`advisor completion bash|zsh|fish`: scripts generated from the parser, run in a real bash."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from advisor.cli import build_parser
from advisor.cli.completion import commands, completion_words, script
from advisor.engine import default_ruleset
from tests.conftest import REPO, run_advisor


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = run_advisor("completion", "bash")
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("completion") / "advisor.bash"
    path.write_text(result.stdout, encoding="utf-8")
    return path


def _complete(bash_script: Path, line: str) -> list[str]:
    """What bash offers after `line` (the cursor at its end), as readline would insert it."""
    assert shutil.which("bash"), "bash is missing"
    probe = (
        f"source {bash_script}; COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}};"
        ' _advisor; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(
        ["bash", "--norc", "-c", probe], capture_output=True, text=True, cwd=REPO, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return [word for word in result.stdout.splitlines() if word]


def test_bash_completes_commands_options_and_values(bash_script: Path) -> None:
    top = _complete(bash_script, "advisor ")
    assert {"recommend", "wizard", "quiz", "rules", "new", "completion"} <= set(top)
    assert _complete(bash_script, "advisor rec") == ["recommend"]
    options = _complete(bash_script, "advisor recommend --")
    assert {"--answers", "--set", "--format", "--explain", "--defaults", "--json"} <= set(options)
    assert _complete(bash_script, "advisor recommend --format ") == ["text", "markdown", "json"]
    assert set(_complete(bash_script, "advisor rules ")) == {
        "check",
        "list",
        "show",
        "graph",
        "doc",
    }
    assert "HW-TPU-POD" in _complete(bash_script, "advisor rules show HW-")
    assert "hardware" in _complete(bash_script, "advisor recommend --explain h")
    assert _complete(bash_script, "advisor recommend --answers examples/tabular-") == [
        "examples/tabular-sklearn.yml"
    ]


def test_bash_completes_answer_ids_and_their_values(bash_script: Path) -> None:
    ids = _complete(bash_script, "advisor recommend --set data_loc")
    assert "data_location=" in ids and "data_location=bigquery" in ids
    # readline breaks words at '=': what it inserts is the value after it
    assert set(_complete(bash_script, "advisor new --set task=image_")) == {
        "image_classification",
        "image_segmentation",
    }
    assert _complete(bash_script, "advisor wizard --set fault_tolerant=t") == ["true"]
    assert "hyperparameters=" in _complete(bash_script, "advisor update --set hyper")


def test_every_shell_script_names_every_command_option_and_answer() -> None:
    ruleset = default_ruleset()
    parser = build_parser()
    words = completion_words(ruleset)
    tree = commands(parser, words)
    paths = {" ".join(command.path) for command in tree}
    assert {"recommend", "rules check", "rules show", "quiz", "completion", "new"} <= paths
    for shell in ("bash", "zsh", "fish"):
        text = script(shell, parser, words)
        for command in tree:
            for name in command.subcommands:
                assert name in text, (shell, name)
            for option in [*command.flags, *command.options]:
                spelled = option if shell != "fish" else option.lstrip("-")
                assert spelled in text, (shell, option)
        for question in ruleset.questions.questions:
            assert f"{question.id}=" in text, (shell, question.id)
        assert "task=image_classification" in text and "HW-TPU-POD" in text


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_parse_their_script(shell: str, tmp_path: Path) -> None:
    assert shutil.which(shell), f"{shell} is missing: `make test` installs it (make shells)"
    result = run_advisor("completion", shell)
    path = tmp_path / f"advisor.{shell}"
    path.write_text(result.stdout, encoding="utf-8")
    check = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


ZSH_STUBS = """
compdef() { }
_files() { print FILES }
_describe() { local -a arr; arr=("${(@P)4}"); print -l -- ${arr%%:*} }
compadd() {
  if [[ $1 == -S ]]; then shift 2; fi
  if [[ $1 == -a ]]; then print -l -- "${(@P)2}"; fi
}
"""


def test_zsh_function_completes(tmp_path: Path) -> None:
    """The zsh function, with the completion system's builtins stubbed to print what they get."""
    assert shutil.which("zsh"), "zsh is missing: `make test` installs it (make shells)"
    path = tmp_path / "advisor.zsh"
    path.write_text(run_advisor("completion", "zsh").stdout, encoding="utf-8")

    def complete(*words: str) -> list[str]:
        quoted = " ".join(f"'{w}'" for w in words)
        code = f"{ZSH_STUBS}source {path}; words=({quoted}); CURRENT={len(words)}; _advisor"
        result = subprocess.run(["zsh", "-f", "-c", code], capture_output=True, text=True)
        return result.stdout.split()

    assert {"recommend", "wizard", "completion"} <= set(complete("advisor", ""))
    assert complete("advisor", "recommend", "--format", "") == ["text", "markdown", "json"]
    assert "task=image_classification" in complete("advisor", "recommend", "--set", "")
    assert complete("advisor", "recommend", "--answers", "") == ["FILES"]
    assert "HW-TPU-POD" in complete("advisor", "rules", "show", "")


def test_fish_completes() -> None:
    assert shutil.which("fish"), "fish is missing: `make test` installs it (make shells)"
    text = run_advisor("completion", "fish").stdout

    def complete(line: str) -> list[str]:
        code = f"{text}\ncomplete -C '{line}'"
        result = subprocess.run(
            ["fish", "--no-config", "-c", code], capture_output=True, text=True, cwd=REPO
        )
        return [row.split("\t")[0] for row in result.stdout.splitlines()]

    assert {"recommend", "rules", "quiz"} <= set(complete("advisor "))
    assert set(complete("advisor recommend --format ")) == {"text", "markdown", "json"}
    assert "task=image_classification" in complete("advisor recommend --set task=ima")
    assert set(complete("advisor rules ")) == {"check", "list", "show", "graph", "doc"}


def test_unknown_shell_is_refused() -> None:
    result = run_advisor("completion", "tcsh")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
