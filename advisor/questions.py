"""The interview's questions (rules/questions.yaml) and the Answers model built from them.

Every way answers come in (a file, `--set id=value`, the wizard's prompts) goes through
`validate_answers`, so a value is checked the same way whatever path it took.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from advisor.conditions import Condition, ConditionError, compile_condition
from advisor.errors import BadAnswers, BadRuleFile
from advisor.yamlcache import YamlCache
from advisor.yamlio import load_yaml_file

QuestionType = Literal["choice", "bool", "int", "float", "text"]


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str
    label: str = ""
    help: str = ""


class Question(BaseModel):
    """One question of the interview; the answers file uses the same id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: QuestionType
    prompt: str
    help: str = ""
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    format: str | None = None  # a human name for `pattern`, shown in errors
    max_length: int | None = None
    default: Any = None
    when: Any = None
    group: str = ""

    @cached_property
    def condition(self) -> Condition:
        return compile_condition(self.when)

    @property
    def values(self) -> list[str]:
        return [choice.value for choice in self.choices]

    def allowed(self) -> str:
        """What this question accepts, in words, for error messages and help."""
        if self.type == "choice":
            return "one of " + ", ".join(self.values)
        if self.type == "bool":
            return "true or false"
        if self.type in ("int", "float"):
            kind = "an integer" if self.type == "int" else "a number"
            bounds = []
            if self.min is not None:
                bounds.append(f">= {_num(self.min)}")
            if self.max is not None:
                bounds.append(f"<= {_num(self.max)}")
            return kind + (" " + " and ".join(bounds) if bounds else "")
        text = "text"
        if self.pattern:
            text = f"{self.format or 'text'} matching {self.pattern}"
        if self.max_length:
            text += f" (at most {self.max_length} characters)"
        return text


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass
class QuestionSet:
    """The ordered questions and the pydantic model that validates answers against them."""

    questions: list[Question]
    by_id: dict[str, Question] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {q.id: q for q in self.questions}

    @cached_property
    def model(self) -> type[BaseModel]:
        fields: dict[str, Any] = {q.id: _field(q) for q in self.questions}
        return create_model(
            "Answers", __config__=ConfigDict(extra="forbid", str_strip_whitespace=False), **fields
        )

    def defaults(self) -> dict[str, Any]:
        return {q.id: q.default for q in self.questions}

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of an answers file, for editors (VS Code's YAML extension and others)."""
        schema = self.model.model_json_schema()
        schema["title"] = "advisor answers file"
        schema["description"] = "Answers to the advisor interview; every field is optional."
        schema.pop("required", None)
        return schema


def _field(question: Question) -> tuple[Any, Any]:
    kind = question.type
    separator = " " if question.prompt.endswith(("?", ".")) else ". "
    text = question.prompt + (separator + question.help if question.help else "")
    if kind == "choice":
        allowed: Any = Literal[tuple(question.values)]  # a runtime Literal built from the data
        return (allowed, Field(question.default, description=text))
    if kind == "bool":
        return (bool, Field(question.default, description=text))
    if kind in ("int", "float"):
        annotation = int if kind == "int" else float
        return (
            annotation,
            Field(question.default, ge=question.min, le=question.max, description=text),
        )
    return (
        str,
        Field(
            question.default,
            pattern=question.pattern,
            max_length=question.max_length,
            description=text,
        ),
    )


def load_questions(path: Path, cache: YamlCache | None = None) -> QuestionSet:
    data = cache.load(path, BadRuleFile) if cache else load_yaml_file(path, BadRuleFile)
    items = data.get("questions") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise BadRuleFile(f"{path}: expected a mapping with a 'questions' list")
    questions = []
    for index, item in enumerate(items):
        where = f"{path}: question {item.get('id', index) if isinstance(item, Mapping) else index}"
        try:
            question = Question.model_validate(item)
            question.condition  # noqa: B018 - compile now so a bad `when` fails at load
            if question.pattern:
                re.compile(question.pattern)
        except (ValidationError, ConditionError, re.error) as exc:
            raise BadRuleFile(f"{where}: {_first_error(exc)}") from None
        if question.type == "choice" and question.default not in question.values:
            raise BadRuleFile(f"{where}: default {question.default!r} is not one of its choices")
        questions.append(question)
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise BadRuleFile(f"{path}: question id '{question.id}' is defined twice")
        seen.add(question.id)
    return QuestionSet(questions)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(part) for part in err["loc"])
        return f"{loc}: {err['msg']}" if loc else err["msg"]
    return str(exc)


def validate_answers(raw: Mapping[str, Any], questions: QuestionSet, origin: str) -> dict[str, Any]:
    """Check raw answers against the questions; return every id with defaults filled in.

    `origin` names where the answers came from (a file path, `--set`, the wizard) for messages.
    """
    for key in raw:
        if key not in questions.by_id:
            close = difflib.get_close_matches(str(key), list(questions.by_id), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise BadAnswers(f"{origin}: field '{key}': unknown question id{hint}")
    try:
        model = questions.model.model_validate(dict(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        question = questions.by_id.get(key)
        allowed = question.allowed() if question else ""
        given = raw.get(key, err.get("input"))
        raise BadAnswers(
            f"{origin}: field '{key}': {given!r} is not allowed; expected {allowed}"
        ) from None
    return model.model_dump()
