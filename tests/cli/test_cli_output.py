"""What `advisor recommend` shows a person: a real terminal at 80 and 120 columns, plain text on a
pipe or with NO_COLOR, `--explain`, the Markdown design note, and no silent default answers."""

from __future__ import annotations

import html
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml

from advisor.engine import default_ruleset, recommend
from advisor.engine.report import design_note
from advisor.ruleset.questions import validate_answers
from tests.conftest import REPO, run_advisor

EXAMPLES = sorted((REPO / "examples").glob("*.yml"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _terminal(args: list[str], columns: int, env: dict[str, str] | None = None) -> str:
    """The output of the real CLI in a pty `columns` wide, as the terminal received it."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "advisor", *args],
        cwd=str(REPO),
        env={
            **{k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")},
            "TERM": "xterm-256color",
            **(env or {}),
        },
        encoding="utf-8",
        timeout=60,
        dimensions=(50, columns),
    )
    text = child.read()
    child.close()
    assert child.exitstatus == 0, text
    return str(text).replace("\r\n", "\n")


def _json(example: Path) -> dict[str, Any]:
    result = run_advisor("recommend", "--answers", str(example), "--json")
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _word(word: str) -> str:
    return word.strip(".,;:()\"'")


def _texts(data: dict[str, Any]) -> list[str]:
    """Every text the recommendation carries: reasons, rules, sources, warnings, tips."""
    texts = []
    for output in [*data["decisions"].values(), data["cost"]]:
        texts += [output["because"], output["rule"], output["source"], *output.get("warnings", [])]
    texts += [tip["text"] for tip in data["tips"]] + [tip["rule"] for tip in data["tips"]]
    return texts


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_recommendation_fits_the_terminal(example: Path, columns: int) -> None:
    ruleset = default_ruleset()
    screen = _terminal(["recommend", "--answers", str(example)], columns)
    assert ANSI.search(screen), "a terminal gets colour"
    lines = ANSI.sub("", screen).splitlines()
    words = {_word(word) for line in lines for word in line.split()}
    for line in lines:
        # Only a single word wider than the whole terminal may overflow it, alone on its line.
        assert len(line) <= columns or len(line.split()) == 1, line
    data = _json(example)
    for text in _texts(data):
        for word in text.split():
            assert _word(word) in words, f"'{word}' is split or missing ({example.name}, {columns})"
    for decision in ruleset.decisions:
        if decision.kind == "multi":
            continue
        output = data["decisions"].get(decision.name) or data[decision.name]
        label = decision.label(output["choice"])
        assert any(line.startswith(decision.title) for line in lines), decision.title
        assert any(f"{decision.title}: {label}" in line for line in lines), decision.title


def test_no_color_and_pipes_get_plain_text() -> None:
    example = str(REPO / "examples" / "bert-text-tpu.yml")
    screen = _terminal(["recommend", "--answers", example], 80, {"NO_COLOR": "1"})
    assert not ANSI.search(screen)
    piped = run_advisor("recommend", "--answers", example)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stdout
    # today's TPU from the catalogue first (v5e); the exam's v3-8 follows as the guide answer
    assert "Hardware                      TPU: machine type ct5lp-hightpu-1t" in piped.stdout
    assert "rule HW-TPU-TF-MATRIX; source: guide:" in piped.stdout


def test_explain_shows_every_rule_of_the_decision() -> None:
    ruleset = default_ruleset()
    example = str(REPO / "examples" / "bert-text-tpu.yml")
    result = run_advisor("recommend", "--answers", example, "--explain", "hardware")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Hardware: TPU")
    for rule in ruleset.rules["hardware"]:
        assert rule.id in out
    assert "won HW-TPU-TF-MATRIX" in out
    assert "lost HW-SINGLE-GPU" in out and "matched, but HW-TPU-TF-MATRIX comes first" in out
    assert "did not match:" in out and "(here model_parameters is 340000000)" in out
    by_title = run_advisor("recommend", "--answers", example, "--explain", "Distribution strategy")
    assert by_title.returncode == 0 and by_title.stdout.startswith("Distribution strategy:")
    bad = run_advisor("recommend", "--answers", example, "--explain", "gpus")
    assert bad.returncode == 2
    assert "no decision 'gpus'" in bad.stderr and "hardware" in bad.stderr


def test_recommend_without_answers_on_a_pipe_needs_them() -> None:
    result = run_advisor("recommend", input="")
    assert result.returncode == 2
    assert "needs answers" in result.stderr and "--answers" in result.stderr
    assert "--defaults" in result.stderr and "Traceback" not in result.stderr
    defaults = run_advisor("recommend", "--defaults", "--json")
    assert defaults.returncode == 0, defaults.stderr
    assert json.loads(defaults.stdout)["decisions"]["service"]["choice"]


def test_format_json_is_the_json() -> None:
    example = str(REPO / "examples" / "tabular-sklearn.yml")
    a = run_advisor("recommend", "--answers", example, "--json")
    b = run_advisor("recommend", "--answers", example, "--format", "json")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout


def _markdown(text: str) -> tuple[list[Any], str]:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark").enable("table")
    tokens = md.parse(text)
    plain = html.unescape(re.sub(r"<[^>]+>", "", md.render(text)))
    return tokens, plain


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_design_note_is_commonmark_with_every_decision(example: Path) -> None:
    ruleset = default_ruleset()
    raw = yaml.safe_load(example.read_text(encoding="utf-8"))
    rec = recommend(validate_answers(raw, ruleset.questions, str(example)), ruleset)
    tokens, plain = _markdown(design_note(rec, ruleset))
    headings = [
        tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "heading_open"
    ]
    assert headings[0] == f"Design note: {raw['project_name']}"
    assert {"Context", "Summary", "Decisions", "Open risks and tips"} <= set(headings)
    assert sum(token.type == "table_open" for token in tokens) >= 2
    assert not re.search(r"\*\*|`", plain), "no stray Markdown markers in the rendered text"
    for decision in ruleset.decisions:
        output = rec.decisions.get(decision.name) or rec.top.get(decision.name)
        if decision.kind == "multi":
            for tip in output:
                assert " ".join(tip["text"].split()) in plain and tip["rule"] in plain
            continue
        assert f"{decision.title}: {decision.label(output['choice'])}" in headings
        assert output["because"] in plain and output["source"] in plain
        assert output["rule"] in plain
    cost = rec.top["cost"]
    for key, value in cost.items():
        if key.endswith("_usd") and value:
            assert f"${value:,.2f}".replace(".00", "") in plain, key


def test_recommend_format_markdown_on_the_command_line() -> None:
    example = str(REPO / "examples" / "bert-text-tpu.yml")
    result = run_advisor("recommend", "--answers", example, "--format", "markdown")
    assert result.returncode == 0, result.stderr
    tokens, plain = _markdown(result.stdout)
    assert result.stdout.startswith("# Design note: ")
    # catalogue price x the hours estimated on the chosen TPU (not the guide's $8/h x GPU hours)
    assert "estimate $25.53" in plain.replace("\n", " ")
    assert "TPU_V3" in plain


def test_recommend_without_answers_on_a_terminal_asks_them() -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "advisor", "recommend"],
        cwd=str(REPO),
        env={**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1"},
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.expect_exact("No --answers given")
    child.expect_exact("Project name")
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130


def test_figures_are_generic_over_the_fields_a_decision_has() -> None:
    from advisor.engine.report import figures

    decision = default_ruleset().decision("compression")
    output = {
        "choice": "combined",
        "rule": "R",
        "because": "b",
        "source": "s",
        "steps": ["pruning", "distillation"],
        "estimate_usd": 1234.5,
        "gpu": {"name": "T4", "memory_gb": 16},
        "early_stopping": False,
        "hours": 0,
    }
    assert figures(output, decision) == [
        ("steps", "Pruning + Distillation"),
        ("estimate", "$1,234.50"),
        ("gpu", "(name T4, memory gb 16)"),
    ]


def test_design_note_gives_the_exams_answer_where_a_refinement_differs() -> None:
    ruleset = default_ruleset()
    checked = 0
    for rule in ruleset.by_id.values():
        guide = ruleset.by_id.get(rule.refines or "")
        if guide is None or guide.choice in (None, rule.choice):
            continue
        case = next(case for case in rule.cases if case.fires)
        rec = recommend(validate_answers(case.answers, ruleset.questions, "case"), ruleset)
        note = design_note(rec, ruleset)
        label = ruleset.label(rule.decision, guide.choice)
        assert f"The exam's answer: {label} (guide rule `{guide.id}`" in note, rule.id
        checked += 1
    assert checked >= 3
