"""Turn a labeled CSV into Gemini supervised-tuning JSONL (one example a line).

    python prepare_data.py [CSV] [--out data]

The CSV has two columns: `input`, the text, and `label`,
one class name. It writes `train.jsonl`, `validation.jsonl` (a tenth
of the rows, chosen by a hash so the split is the same on every run) and `classes.json`.
The format is the one documented for Gemini supervised tuning: a system instruction, a user turn
with the input and a model turn with the expected answer.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

INSTRUCTION = (
    "Rate the sentiment of the text with exactly one of the classes listed below. "
    "Answer with the class name only."
)
VIDEO = False
MANY = False
VALIDATION_SHARE = 10  # percent of the rows kept for validation


class DataError(Exception):
    """A row the tuning service would reject; reported with exit code 2."""


def read_rows(path: Path) -> list[tuple[str, list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"input", "label"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        rows = []
        for number, row in enumerate(reader, start=2):
            text, label = (row["input"] or "").strip(), (row["label"] or "").strip()
            if not text or not label:
                raise DataError(f"{path}, line {number}: `input` and `label` must not be empty")
            if VIDEO and not text.startswith("gs://"):
                raise DataError(f"{path}, line {number}: `input` must be a gs:// video URI")
            items = [item.strip() for item in label.split(";") if item.strip()] if MANY else [label]
            rows.append((text, items))
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def system_instruction(classes: list[str]) -> str:
    kind = "Types" if MANY else "Classes"
    return f"{INSTRUCTION}\n{kind}: {', '.join(classes)}"


def user_part(text: str) -> dict[str, Any]:
    if VIDEO:
        return {"fileData": {"mimeType": "video/mp4", "fileUri": text}}
    return {"text": text}


def answer(items: list[str]) -> str:
    return json.dumps(items) if MANY else items[0]


def example(text: str, items: list[str], classes: list[str]) -> dict[str, Any]:
    return {
        "systemInstruction": {"role": "system", "parts": [{"text": system_instruction(classes)}]},
        "contents": [
            {"role": "user", "parts": [user_part(text)]},
            {"role": "model", "parts": [{"text": answer(items)}]},
        ],
    }


def in_validation(text: str, index: int) -> bool:
    digest = hashlib.sha256(f"{index}:{text}".encode()).digest()
    return digest[0] * 100 // 256 < VALIDATION_SHARE


def prepare(source: Path, out: Path) -> dict[str, int]:
    rows = read_rows(source)
    classes = sorted({item for _, items in rows for item in items})
    out.mkdir(parents=True, exist_ok=True)
    split: dict[str, list[dict[str, Any]]] = {"train": [], "validation": []}
    for index, (text, items) in enumerate(rows):
        name = "validation" if in_validation(text, index) else "train"
        split[name].append(example(text, items, classes))
    if not split["validation"]:  # keep at least one example to evaluate on
        split["validation"].append(split["train"].pop())
    for name, examples in split.items():
        with (out / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for item in examples:
                handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    (out / "classes.json").write_text(json.dumps(classes, indent=2) + "\n", encoding="utf-8")
    return {name: len(examples) for name, examples in split.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", default="data/sample.csv", type=Path)
    parser.add_argument("--out", default=Path("data"), type=Path)
    options = parser.parse_args(argv)
    try:
        counts = prepare(options.csv, options.out)
    except (DataError, OSError) as exc:
        print(f"prepare_data.py: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
