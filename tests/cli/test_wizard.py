"""The wizard's prompt flow, driven through prompt_toolkit's pipe input (no terminal needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.cli.wizard import run_wizard
from advisor.engine import default_ruleset, recommend
from advisor.interview import Interview, check_typed, settled_decisions
from advisor.ruleset.questions import Question, validate_answers
from advisor.ruleset.rules import RuleSet
from tests.helpers.wizard import CLEAR, CTRL_C, DOWN, ENTER, UP, Piped


class Defaults:
    """A UI that accepts every default (to count the prompts of the default path)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def ask(self, question: Question, default: object) -> object:
        self.asked.append(question.prompt)
        return default

    def note(self, text: str) -> None:
        pass

    def decision(self, title: str, output: object) -> None:
        pass


def default_path_prompts(ruleset: RuleSet) -> list[str]:
    ui = Defaults()
    Interview(ruleset).run(ui)
    return ui.asked


@pytest.fixture(autouse=True)
def scratch_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_automl_path_asks_exactly_these_prompts_and_shows_decisions_as_reached(
    ruleset: RuleSet, pipe: Any
) -> None:
    pipe.send_text(CLEAR + "churn-automl" + ENTER)  # Project name (default cleared)
    pipe.send_text(ENTER * 4)  # task, labeled examples, size, location: defaults
    pipe.send_text(UP + ENTER)  # team: one up from ML engineers = no ML expertise
    pipe.send_text(ENTER * 2)  # custom model: no; time to first model: weeks
    pipe.send_text(ENTER * 3)  # deployment target, inference hardware, AutoML budget
    pipe.send_text(ENTER * 5)  # project, region, bucket, label column, id columns
    piped = Piped(ruleset, pipe)
    interview = Interview(ruleset)
    answers = interview.run(piped.ui)

    assert piped.ui.messages == [
        "Project name",
        "What should the model do?",
        "How many labeled examples do you have?",
        "Training data size in GB",
        "Where is the data today?",
        "Who will build and own the model?",
        "Does it need its own architecture, loss function or research code?",
        "How soon is a first model needed?",
        # AutoML: no framework, model, scale, tuning or compression questions.
        "Where will the model serve predictions?",
        "On what hardware will inference run?",
        "AutoML training budget in milli node hours",
        "Google Cloud project id",
        "Region",
        "Cloud Storage bucket for staging and outputs",
        "Name of the label (target) column",
        "ID columns to leave out of the features (comma-separated)",
    ]
    for message in piped.ui.messages:
        assert f"? {message}" in piped.text
    assert answers["project_name"] == "churn-automl"
    assert answers["team"] == "no_ml_expertise"
    assert answers == validate_answers(interview.given, ruleset.questions, "test")
    # The service is shown right after the question that settles it, with its reason.
    shown = piped.ui.decisions
    assert shown[0] == "Service: AutoML"
    assert shown.index("Service: AutoML") < len(shown)
    before_deployment = piped.text.split("? Where will the model serve predictions?")[0]
    assert "=> Service: AutoML" in before_deployment
    assert "=> Framework: Not applicable" in before_deployment
    assert "[SVC-" in before_deployment  # the rule id with the reason
    assert "=> AutoML budget and model type: AutoML" in piped.text


def test_help_text_defaults_and_the_one_validator(ruleset: RuleSet, pipe: Any) -> None:
    pipe.send_text(ENTER * 2)  # project name, task
    pipe.send_text(CLEAR + "-5" + ENTER)  # refused by validate_answers, asked again
    pipe.send_text(CLEAR + "lots" + ENTER)  # not a number
    pipe.send_text(CLEAR + "250" + ENTER)
    pipe.send_text(ENTER * 60)
    piped = Piped(ruleset, pipe)
    answers = Interview(ruleset).run(piped.ui)
    assert answers["labeled_examples"] == 250  # -5 and "lots" were refused, not accepted
    questions = ruleset.questions
    question = questions.by_id["labeled_examples"]
    assert check_typed(question, questions, "-5") == "-5 is not allowed; expected an integer >= 0"
    assert check_typed(question, questions, "lots") == "expected an integer >= 0"
    assert check_typed(question, questions, "250") is True
    slug = questions.by_id["project_name"]
    assert "a slug" in str(check_typed(slug, questions, "Bad Name"))
    assert "0 means no labeled data at all." in piped.text  # the question's help
    assert "? Project name ml-project" in piped.text  # the default, pre-filled


def test_answers_file_leaves_only_the_open_questions(
    ruleset: RuleSet, pipe: Any, tmp_path: Path
) -> None:
    preset = yaml.safe_load(
        (Path(__file__).parents[2] / "examples" / "tabular-sklearn.yml").read_text()
    )
    preset.pop("label_column")
    keep = {
        "project_name",
        "task",
        "team",
        "data_location",
        "data_size_gb",
        "labeled_examples",
        "time_to_first_model",
        "model_family",
        "hyperparameters",
        "all_params_discrete",
        "search_points",
        "max_trials",
        "parallel_trials",
    }
    assert set(preset) == keep
    path = tmp_path / "answers.yml"
    path.write_text(yaml.safe_dump(preset))
    expected = [
        "Does it need its own architecture, loss function or research code?",
        "Preferred framework",
        "How many machines may one training job use?",
        "Expected training time on one modern GPU, in hours",
        "Within how many hours must training finish?",
        "The most the training run may cost, in US dollars",
        "How many passes over the training data (epochs)?",
        "May the job be preempted and resumed from a checkpoint (Spot VMs)?",
        "How costly is one training trial?",
        "Where will the model serve predictions?",
        "On what hardware will inference run?",
        # no compression questions: a scikit-learn model is not compressed
        "Google Cloud project id",
        "Region",
        "Cloud Storage bucket for staging and outputs",
        "Name of the label (target) column",
        # custom training leaves ID columns out too (--id_columns)
        "ID columns to leave out of the features (comma-separated)",
        "Service account the training job runs as (empty for the default)",
        "Vertex AI TensorBoard for the job's logs (empty for none)",
        "Vertex AI Experiments experiment to log the training runs to (empty for none)",
        "Generate a Vertex AI Pipelines definition (train, evaluate, register, then predict)?",
    ]
    pipe.send_text(ENTER * len(expected) + "n" + "n")  # defaults; do not generate; do not save
    piped = Piped(ruleset, pipe)
    rc = run_wizard(answers_path=path, ui=piped.ui)
    assert rc == 0
    assert piped.ui.messages == [*expected, "Generate the project?", "Save the answers to a file?"]
    assert [p.name for p in tmp_path.iterdir()] == ["answers.yml"]


def test_wizard_generates_the_project(
    ruleset: RuleSet, pipe: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    others = len(default_path_prompts(ruleset)) - 1  # every question after the name: defaults
    pipe.send_text(CLEAR + "wizard-proj" + ENTER + ENTER * others)
    pipe.send_text("y")  # generate
    pipe.send_text(CLEAR + str(tmp_path / "out") + ENTER)  # output folder
    piped = Piped(ruleset, pipe)
    assert run_wizard(ui=piped.ui) == 0
    assert piped.ui.messages[-2:] == ["Generate the project?", "Output folder"]
    assert (tmp_path / "out" / "trainer" / "task.py").is_file()
    stored = yaml.safe_load((tmp_path / "out" / ".advisor-answers.yml").read_text())
    assert stored["answers"]["project_name"] == "wizard-proj"
    out = capsys.readouterr().out
    assert "Recommendation" in out and "Wrote" in out


def test_ctrl_c_exits_130_and_saves_the_answers_so_far(
    ruleset: RuleSet, pipe: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "partial.yml"
    pipe.send_text(CLEAR + "half-done" + ENTER + DOWN + ENTER)  # name; task: regression
    pipe.send_text(CTRL_C)
    pipe.send_text("y")  # save the answers given so far
    pipe.send_text(CLEAR + str(saved) + ENTER)
    piped = Piped(ruleset, pipe)
    assert run_wizard(ui=piped.ui) == 130
    assert "interrupted" in capsys.readouterr().err
    assert "Save the 2 answers given so far?" in piped.ui.messages
    assert yaml.safe_load(saved.read_text()) == {
        "project_name": "half-done",
        "task": "tabular_regression",
    }


def test_decisions_settle_only_when_no_open_question_can_change_them(ruleset: RuleSet) -> None:
    rec = recommend(validate_answers({}, ruleset.questions, "t"), ruleset)
    assert settled_decisions(ruleset, rec, set()) == []
    every = {q.id for q in ruleset.questions.questions}
    assert set(settled_decisions(ruleset, rec, every)) == {
        d.name for d in ruleset.decisions if d.kind == "single"
    }
    order = [q.id for q in ruleset.questions.questions]
    service_inputs = set(order[: order.index("time_to_first_model") + 1])
    assert "service" in settled_decisions(ruleset, rec, service_inputs)
    assert "service" not in settled_decisions(ruleset, rec, service_inputs - {"team"})
    assert "framework" not in settled_decisions(ruleset, rec, service_inputs)


def test_default_ruleset_fixture_is_the_engine_default(ruleset: RuleSet) -> None:
    assert ruleset is default_ruleset()


def test_without_a_terminal_the_wizard_points_to_answers_files() -> None:
    from tests.conftest import run_advisor

    for args in (["wizard"], ["new"]):
        result = run_advisor(*args, input="")
        assert result.returncode == 2
        assert "needs a terminal" in result.stderr and "--answers FILE" in result.stderr
