"""Score a Gemini model (base or tuned) on the validation examples.

    python evaluate.py --model ENDPOINT            # call the model on data/validation.jsonl
    python evaluate.py --predictions answers.jsonl # score saved answers, no calls

Writes `metrics.json`: accuracy and macro F1 over the classes, and how
many examples were scored. Run it on the base model before tuning and on the tuned endpoint
after, to see what tuning bought.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import classify

MANY = False


class EvaluationError(Exception):
    """Unreadable examples or answers; reported with exit code 2."""


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise EvaluationError(f"{path}: {exc}") from None


def split_example(example: dict[str, Any]) -> tuple[str, list[str]]:
    """(the input, the expected items) of one tuning example."""
    user, answer = example["contents"][0]["parts"][0], example["contents"][-1]["parts"][0]
    source = user.get("text") or user["fileData"]["fileUri"]
    expected = json.loads(answer["text"]) if MANY else [answer["text"]]
    return source, expected


def score(pairs: Iterable[tuple[list[str], list[str]]]) -> dict[str, float | int]:
    """Metrics over (expected, predicted) pairs."""
    pairs = list(pairs)
    if not pairs:
        raise EvaluationError("no examples to score")
    if MANY:
        hits = sum(len(set(e) & set(p)) for e, p in pairs)
        predicted = sum(len(set(p)) for _, p in pairs)
        expected = sum(len(set(e)) for e, _ in pairs)
        precision = hits / predicted if predicted else 0.0
        recall = hits / expected if expected else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"examples": len(pairs), "precision": precision, "recall": recall, "f1": f1}
    truth = [e[0] for e, _ in pairs]
    guess = [p[0] if p else "" for _, p in pairs]
    accuracy = sum(t == g for t, g in zip(truth, guess, strict=True)) / len(pairs)
    f1s = []
    for label in sorted(set(truth)):
        tp = sum(t == g == label for t, g in zip(truth, guess, strict=True))
        fp = sum(g == label != t for t, g in zip(truth, guess, strict=True))
        fn = sum(t == label != g for t, g in zip(truth, guess, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return {"examples": len(pairs), "accuracy": accuracy, "macro_f1": sum(f1s) / len(f1s)}


def evaluate(
    examples: list[dict[str, Any]], predict: Callable[[str], list[str]]
) -> dict[str, float | int]:
    pairs = []
    for example in examples:
        source, expected = split_example(example)
        pairs.append((expected, predict(source)))
    return score(pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validation", default=Path("data/validation.jsonl"), type=Path)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a model id or a tuned endpoint to call")
    source.add_argument("--predictions", type=Path, help='JSONL of {"input", "answer"} lines')
    parser.add_argument("--out", default=Path("metrics.json"), type=Path)
    options = parser.parse_args(argv)
    try:
        examples = read_jsonl(options.validation)
        if options.predictions:
            saved = {row["input"]: row["answer"] for row in read_jsonl(options.predictions)}

            def predict(text: str) -> list[str]:
                answer = saved.get(text, [])
                return answer if isinstance(answer, list) else [answer]

        else:
            classes = classify.load_classes()

            def predict(text: str) -> list[str]:
                return classify.predict(text, options.model, classes)

        metrics = evaluate(examples, predict)
    except (EvaluationError, classify.InputError, KeyError) as exc:
        print(f"evaluate.py: error: {exc}", file=sys.stderr)
        return 2
    options.out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
