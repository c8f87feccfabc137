"""Offline checks: the tuning data format, the requests the real SDK builds, the scoring."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import classify  # noqa: E402
import evaluate  # noqa: E402
import prepare_data  # noqa: E402
import tune  # noqa: E402


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    out = tmp_path / "data"
    counts = prepare_data.prepare(ROOT / "data" / "sample.csv", out)
    assert counts["train"] > 0 and counts["validation"] > 0
    return out


def test_examples_have_the_documented_shape(data: Path) -> None:
    classes = json.loads((data / "classes.json").read_text())
    for line in (data / "train.jsonl").read_text().splitlines():
        example = json.loads(line)
        assert [turn["role"] for turn in example["contents"]] == ["user", "model"]
        assert ", ".join(classes) in example["systemInstruction"]["parts"][0]["text"]
        part = example["contents"][0]["parts"][0]
        assert part["text"].strip()
        answer = example["contents"][1]["parts"][0]["text"]
        assert answer in classes


def test_the_split_is_the_same_on_every_run(data: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    prepare_data.prepare(ROOT / "data" / "sample.csv", again)
    for name in ("train.jsonl", "validation.jsonl"):
        assert (data / name).read_text() == (again / name).read_text()


def test_bad_rows_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("input,label\n,x\n")
    assert prepare_data.main([str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "bad.csv" in capsys.readouterr().err


def test_tuning_request(capsys: pytest.CaptureFixture[str]) -> None:
    assert tune.main(["--dry-run", "--epochs", "3", "--adapter-size", "4"]) == 0
    (sent,) = json.loads(capsys.readouterr().out)["requests"]
    assert sent["method"] == "POST"
    parent = f"projects/{tune.PROJECT}/locations/{tune.REGION}"
    assert sent["url"].startswith(f"https://{tune.REGION}-aiplatform.googleapis.com/")
    assert sent["url"].endswith(f"{parent}/tuningJobs")
    job = sent["body"]
    assert job["baseModel"] == tune.BASE_MODEL
    assert job["tunedModelDisplayName"] == tune.JOB_NAME
    spec = job["supervisedTuningSpec"]
    assert spec["trainingDatasetUri"] == f"{tune.DATA}/train.jsonl"
    assert spec["validationDatasetUri"] == f"{tune.DATA}/validation.jsonl"
    assert int(spec["hyperParameters"]["epochCount"]) == 3
    assert spec["hyperParameters"]["adapterSize"] == "ADAPTER_SIZE_FOUR"


@pytest.mark.parametrize(
    "args",
    [["--adapter-size", "3"], ["--epochs", "0"], ["--train", "train.csv"]],
)
def test_invalid_tuning_settings_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert tune.main(["--dry-run", *args]) == 2
    assert "tune.py: error" in capsys.readouterr().err


def test_prompt_request(data: Path) -> None:
    classes = json.loads((data / "classes.json").read_text())
    report = classify.dry_run(classify.DEFAULT_INPUT, classify.BASE_MODEL, classes)
    (sent,) = report["requests"]
    assert sent["url"].endswith(f"publishers/google/models/{classify.BASE_MODEL}:generateContent")
    request = sent["body"]
    assert ", ".join(classes) in request["systemInstruction"]["parts"][0]["text"]
    config = request["generationConfig"]
    assert config["temperature"] == 0
    assert config["responseMimeType"] == "text/x.enum"
    assert config["responseSchema"]["enum"] == classes
    part = request["contents"][0]["parts"][0]
    assert part["text"] == classify.DEFAULT_INPUT


def test_scoring(data: Path) -> None:
    examples = evaluate.read_jsonl(data / "validation.jsonl") + evaluate.read_jsonl(
        data / "train.jsonl"
    )
    truth = dict(evaluate.split_example(example) for example in examples)
    perfect = evaluate.evaluate(examples, lambda source: truth[source])
    assert perfect["examples"] == len(examples)
    assert perfect["accuracy"] == 1.0
    wrong = evaluate.evaluate(examples, lambda source: ["no such class"])
    assert wrong["accuracy"] == 0.0
    half = [truth[s] if i % 2 else ["no such class"] for i, s in enumerate(truth)]
    answers = dict(zip(truth, half, strict=True))
    partial = evaluate.evaluate(examples, lambda source: answers[source])
    assert 0.0 < partial["accuracy"] < 1.0


def test_saved_predictions_are_scored(data: Path, tmp_path: Path) -> None:
    saved = tmp_path / "answers.jsonl"
    lines = []
    for example in evaluate.read_jsonl(data / "validation.jsonl"):
        source, expected = evaluate.split_example(example)
        lines.append(json.dumps({"input": source, "answer": expected}))
    saved.write_text("\n".join(lines) + "\n")
    out = tmp_path / "metrics.json"
    args = ["--validation", str(data / "validation.jsonl"), "--predictions", str(saved)]
    assert evaluate.main([*args, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["accuracy"] == 1.0
