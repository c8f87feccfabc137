"""Ask a Gemini model for the sentiment analysis of one input: prompting, no training.

    python classify.py --dry-run [INPUT]        # print the request as JSON: no credentials
    python classify.py INPUT                    # the base model, prompted with your classes
    python classify.py INPUT --model ENDPOINT   # the tuned model (tune.py prints its endpoint)

The classes come from `data/classes.json` (written by `prepare_data.py`). The answer is
constrained to them with a response schema, at temperature 0 so a repeated call answers alike.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import genai_recording

PROJECT = "acme-support"
REGION = "us-central1"
BASE_MODEL = "gemini-2.5-flash"
INSTRUCTION = (
    "Rate the sentiment of the text with exactly one of the classes listed below. "
    "Answer with the class name only."
)
VIDEO = False
MANY = False
CLASSES_FILE = Path("data/classes.json")
DEFAULT_INPUT = "The parcel arrived a day early and works perfectly."


class InputError(Exception):
    """An input the model cannot take; reported with exit code 2."""


def load_classes(path: Path = CLASSES_FILE) -> list[str]:
    if not path.exists():
        raise InputError(f"{path} is missing: run `python prepare_data.py` first")
    classes = json.loads(path.read_text(encoding="utf-8"))
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        raise InputError(f"{path}: expected a non-empty JSON list of class names")
    return classes


def system_instruction(classes: list[str]) -> str:
    """The same instruction the tuning examples carry (prepare_data.py)."""
    kind = "Types" if MANY else "Classes"
    return f"{INSTRUCTION}\n{kind}: {', '.join(classes)}"


def generation_config(classes: list[str]) -> Any:
    """Temperature 0 and an answer constrained to the classes (controlled generation)."""
    from google.genai import types

    if MANY:
        return types.GenerateContentConfig(
            system_instruction=system_instruction(classes),
            temperature=0,
            response_mime_type="application/json",
            response_schema={"type": "ARRAY", "items": {"type": "STRING"}},
        )
    return types.GenerateContentConfig(
        system_instruction=system_instruction(classes),
        temperature=0,
        response_mime_type="text/x.enum",
        response_schema={"type": "STRING", "enum": classes},
    )


def content(source: str) -> Any:
    from google.genai import types

    if VIDEO:
        if not source.startswith("gs://"):
            raise InputError(f"{source}: upload the video to Cloud Storage and pass its gs:// URI")
        return types.Part.from_uri(file_uri=source, mime_type="video/mp4")
    if not source.strip():
        raise InputError("the text is empty")
    return types.Part.from_text(text=source)


def parse_answer(text: str) -> list[str]:
    """The model's answer as a list of items (one class for single-label tasks)."""
    text = text.strip()
    if MANY:
        try:
            items = json.loads(text)
        except json.JSONDecodeError:
            return []
        return [str(item).strip() for item in items] if isinstance(items, list) else []
    return [text]


def predict(source: str, name: str, classes: list[str], credentials: Any = None) -> list[str]:
    from google import genai

    client = genai.Client(vertexai=True, project=PROJECT, location=REGION, credentials=credentials)
    response = client.models.generate_content(
        model=name, contents=[content(source)], config=generation_config(classes)
    )
    return parse_answer(response.text or "")


def dry_run(source: str, name: str, classes: list[str]) -> dict[str, Any]:
    request = genai_recording.first_request(
        predict, source, name, classes, genai_recording.anonymous_credentials()
    )
    return {"dry_run": True, "model": name, "input": source, "requests": [request]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", default=DEFAULT_INPUT)
    parser.add_argument("--model", default=BASE_MODEL, help="a model id or a tuned endpoint")
    parser.add_argument("--dry-run", action="store_true", help="print the request, send nothing")
    options = parser.parse_args(argv)
    try:
        classes = load_classes()
        content(options.input)  # bad input exits 2 before any call
        if options.dry_run:
            print(json.dumps(dry_run(options.input, options.model, classes), indent=2))
        else:
            print(json.dumps(predict(options.input, options.model, classes)))
    except InputError as exc:
        print(f"classify.py: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
