"""Bad input ends in exit 2 with a bounded message, in bounded memory (review F1, F13, F17,
F18, F20, F21, F24, F25, F27, F32, F33)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.reliability.conftest import EXAMPLE, advisor, clean_exit


def _bomb() -> str:
    """The review's 276-byte billion-laughs document: 9**9 strings through eight aliases."""
    text = "[lol,lol,lol,lol,lol,lol,lol,lol,lol]"
    for name in "abcdefgh":
        text = f"[&{name} {text}{f',*{name}' * 8}]"
    return text


def test_f1_an_alias_bomb_in_an_answers_file_is_refused_in_bounded_memory(
    tmp_path: Path, env: dict[str, str]
) -> None:
    bomb = tmp_path / "bomb.yml"
    bomb.write_text(f"task: {_bomb()}\n")
    assert bomb.stat().st_size == 276
    err = clean_exit(advisor("recommend", "--answers", str(bomb), env=env))
    assert "bomb.yml: refused: too many values once its aliases are expanded" in err
    assert len(err) < 300


def test_f1_an_alias_bomb_in_a_project_record_stops_update(
    project: Path, env: dict[str, str]
) -> None:
    record = project / ".advisor-answers.yml"
    data = yaml.safe_load(record.read_text())
    record.write_text(
        record.read_text().replace(f"  task: {data['answers']['task']}", f"  task: {_bomb()}")
    )
    err = clean_exit(advisor("update", str(project), env=env))
    assert ".advisor-answers.yml: refused: too many values" in err


def test_f1_a_self_referring_alias_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    loop = tmp_path / "loop.yml"
    loop.write_text("task: &a [*a]\n")
    err = clean_exit(advisor("recommend", "--answers", str(loop), env=env))
    assert "an alias refers to the value that contains it" in err


def test_f1_a_huge_value_is_shown_cut_short(tmp_path: Path, env: dict[str, str]) -> None:
    big = tmp_path / "big.yml"
    big.write_text("project_name: " + "x" * 500_000 + "\n")
    err = clean_exit(advisor("recommend", "--answers", str(big), env=env))
    assert "field 'project_name': 'xxx" in err and len(err) < 600


def test_f13_integers_past_the_digit_limit_are_refused(tmp_path: Path, env: dict[str, str]) -> None:
    huge = tmp_path / "hugeint.yml"
    huge.write_text("labeled_examples: 1" + "0" * 5000 + "\n")
    err = clean_exit(advisor("recommend", "--answers", str(huge), env=env))
    assert "hugeint.yml: refused: a number too large" in err
    err = clean_exit(advisor("recommend", "--set", "labeled_examples=" + "9" * 5000, env=env))
    assert "--set: field 'labeled_examples': a number too large" in err


def test_f17_bytes_that_are_not_utf8_in_a_set_value_are_refused(env: dict[str, str]) -> None:
    flag = os.fsdecode(b"label_column=a\xffb")  # what Python makes of the raw argument
    err = clean_exit(advisor("recommend", "--set", flag, env=env))
    assert "not valid UTF-8 text" in err


def test_f18_deep_json_in_the_base_snapshot_is_refused(project: Path, env: dict[str, str]) -> None:
    (project / ".advisor" / "base.json").write_text("[" * 100_000 + "]" * 100_000)
    err = clean_exit(advisor("update", str(project), env=env))
    assert "base.json: not a base snapshot written by advisor: nested too deeply" in err


def test_f18_deep_json_in_quiz_progress_is_set_aside(env: dict[str, str]) -> None:
    folder = Path(env["XDG_DATA_HOME"]) / "advisor"
    folder.mkdir(parents=True)
    (folder / "quiz_progress.json").write_text("[" * 100_000 + "]" * 100_000)
    result = advisor("quiz", "--stats", env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert not (folder / "quiz_progress.json").exists()
    assert list(folder.glob("quiz_progress.json.corrupt-*"))


def test_f20_bidi_and_invisible_marks_in_label_column_are_refused(env: dict[str, str]) -> None:
    for mark in ("\u202e", "\u2066", "\u200b", "\ufeff"):
        err = clean_exit(advisor("recommend", "--set", f"label_column=a{mark}evil", env=env))
        assert "field 'label_column'" in err and mark not in err


def test_f21_escape_sequences_in_a_field_name_are_printed_escaped(
    tmp_path: Path, env: dict[str, str]
) -> None:
    answers = tmp_path / "ansikey.yml"
    answers.write_text('"\\e]0;PWNED\\a\\e[2J\\e[1;31mfake: all good\\e[0m\\nadvisor: ok": 1\n')
    err = clean_exit(advisor("recommend", "--answers", str(answers), env=env))
    assert "\x1b" not in err and "\x07" not in err and "\\x1b" in err
    assert "\nadvisor: ok" not in err


def test_f24_json_output_is_standard_json(env: dict[str, str]) -> None:
    result = advisor(
        "recommend",
        "--json",
        "--set",
        "expected_training_hours=1.7976931348623157e308",
        "--set",
        "framework=tensorflow",
        env=env,
    )
    assert "Infinity" not in result.stdout
    if result.returncode == 0:  # a finite answer: then strict JSON parsers must accept it

        def reject(name: str) -> None:
            raise ValueError(name)

        json.loads(result.stdout, parse_constant=reject)
    else:
        assert "not a finite number" in clean_exit(result)


def test_f25_an_infinite_exam_time_limit_is_refused(env: dict[str, str]) -> None:
    err = clean_exit(advisor("quiz", "--exam", "--time-limit", "inf", env=env))
    assert "expected a finite number > 0" in err


@pytest.mark.parametrize(
    ("flag", "said"),
    [
        ("labeled_examples=1:30", "'1:30' is not allowed"),  # YAML 1.1 read it as 90
        ("labeled_examples=0b101", "'0b101' is not allowed"),  # and this as 5
        ("labeled_examples=\u0661\u0662\u0663", "is not allowed"),  # Arabic-Indic digits
        ("project_name=abc # comment", "'abc # comment' is not allowed"),  # was cut to abc
        ("model_parameters=" + "9" * 400, "a number too large"),  # was "expected an integer"
    ],
)
def test_f27_set_values_are_read_as_typed(flag: str, said: str, env: dict[str, str]) -> None:
    assert said in clean_exit(advisor("recommend", "--set", flag, env=env))


def test_f27_names_that_yaml_would_read_as_booleans_or_null_are_names(env: dict[str, str]) -> None:
    for name in ("no", "on", "null"):
        result = advisor(
            "new", "--answers", str(EXAMPLE), "--set", f"project_name={name}", "--pretend", env=env
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[0] == f"{name}/"  # the folder is named for the project


def test_f27_a_key_given_twice_is_refused(tmp_path: Path, env: dict[str, str]) -> None:
    answers = tmp_path / "dup.yml"
    answers.write_text("task: tabular_classification\ntask: tabular_regression\n")
    err = clean_exit(advisor("recommend", "--answers", str(answers), env=env))
    assert "dup.yml: not valid YAML or JSON (line 2, column 1): duplicate key 'task'" in err


def test_f32_an_oversized_answers_file_is_refused_unread(
    tmp_path: Path, env: dict[str, str]
) -> None:
    big = tmp_path / "big.yml"
    big.write_text("task: [" + "ocr, " * 2_400_000 + "ocr]\n")  # the review's 12 MB file
    err = clean_exit(advisor("recommend", "--answers", str(big), env=env))
    assert "big.yml: larger than 1000000 bytes" in err and len(err) < 300


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_f32_endless_inputs_are_refused(kind: str, tmp_path: Path, env: dict[str, str]) -> None:
    if kind == "fifo":
        path = tmp_path / "f.yml"
        os.mkfifo(path)  # nobody writes to it: reading it would wait for ever
    else:
        path = Path("/dev/zero")
    err = clean_exit(advisor("recommend", "--answers", str(path), env=env, timeout=60))
    assert "not a regular file" in err


@pytest.mark.parametrize(
    ("bomb", "said"),
    [("=9**9**9", "exponent 387420489 is too large"), ("=[1]*10**9", "1000000000 times")],
)
def test_f33_rule_expressions_cannot_exhaust_cpu_or_memory(
    bomb: str, said: str, tmp_path: Path, env: dict[str, str]
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    rule = rules / "cost" / "COST-ON-DEMAND.yaml"
    text = rule.read_text()
    assert "  scheduling_strategy: STANDARD\n" in text
    rule.write_text(text.replace("scheduling_strategy: STANDARD", f'scheduling_strategy: "{bomb}"'))
    result = advisor(
        "recommend", "--answers", str(EXAMPLE), env={**env, "ADVISOR_RULES_DIR": str(rules)}
    )
    err = clean_exit(result)  # (under the 1 GiB cap, not the machine's memory)
    assert "COST-ON-DEMAND.yaml: rule COST-ON-DEMAND: then.scheduling_strategy" in err
    assert said in err
