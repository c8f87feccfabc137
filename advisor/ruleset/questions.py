"""The interview's questions (rules/questions.yaml) and the validator of answers built from them.

Every way answers come in (a file, `--set id=value`, the wizard's prompts) goes through
`validate_answers`, so a value is checked the same way whatever path it took. The same
definitions give the pydantic model behind `advisor schema`, so editors check what the CLI checks.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from advisor.errors import BadAnswers, BadRuleFile
from advisor.fileio import quoted, shown
from advisor.ruleset.conditions import Condition, ConditionError, compile_condition
from advisor.ruleset.schema import STRICT_KEYS, DefinitionError, Limits, pickle_state, validate
from advisor.ruleset.yamlcache import YamlCache
from advisor.ruleset.yamlio import load_yaml_file

QuestionType = Literal["choice", "bool", "int", "float", "text"]

_TRUE = frozenset({"true", "yes", "on"})
_FALSE = frozenset({"false", "no", "off"})


@dataclass(frozen=True)
class Choice:
    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT_KEYS

    value: str
    label: str = ""
    help: str = ""


@dataclass(frozen=True)
class Question:
    """One question of the interview; the answers file uses the same id."""

    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT_KEYS

    id: Annotated[str, Limits(pattern=r"^[a-z][a-z0-9_]*$")]
    type: QuestionType
    prompt: str
    help: str = ""
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    pattern: str | None = None  # the whole value must match
    format: str | None = None  # a human name for `pattern`, shown in errors
    max_length: int | None = None
    default: Any = None
    when: Any = None
    group: str = ""
    choices_from: str | None = None  # a text answer limited to a catalogue list (regions)
    # Where an upper bound comes from: the https:// URL documenting the API's limit, or
    # "definition: ..." for a bound that follows from what the number is (a percentage). A bound
    # the documentation does not give is not applied: `max` without this is a broken file.
    bounds_source: str | None = None

    @cached_property
    def condition(self) -> Condition:
        return compile_condition(self.when)

    @cached_property
    def regex(self) -> re.Pattern[str] | None:
        return re.compile(self.pattern) if self.pattern else None

    @property
    def values(self) -> list[str]:
        return [choice.value for choice in self.choices]

    def __getstate__(self) -> dict[str, Any]:
        return pickle_state(self)

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
        if self.choices:
            return (
                "one of the known "
                + (self.choices_from or "values")
                + ": "
                + ", ".join(self.values)
            )
        text = "text"
        if self.pattern:
            text = f"{self.format or 'text'} matching {self.pattern}"
        if self.max_length:
            text += f" (at most {self.max_length} characters)"
        return text

    def accept(self, value: Any) -> Any:
        """`value` as this question's type, or ValueError when it is not allowed.

        Numbers and booleans may come as text (a quoted YAML value); a float that is a whole
        number is an integer. Booleans are never numbers, and numbers must be finite.
        """
        if self.type == "choice":
            if isinstance(value, str) and value in self.values:
                return value
        elif self.type == "bool":
            return _as_bool(value)
        elif self.type in ("int", "float"):
            number = _as_number(value, integer=self.type == "int")
            if (self.min is None or number >= self.min) and (
                self.max is None or number <= self.max
            ):
                return number
        elif isinstance(value, str):
            short_enough = self.max_length is None or len(value) <= self.max_length
            known = not self.choices or value in self.values
            if short_enough and known and (self.regex is None or self.regex.fullmatch(value)):
                return value
        raise ValueError(value)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(value)


def _as_number(value: Any, *, integer: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(value)
    number: int | float = value if not isinstance(value, str) else _parse_number(value.strip())
    if not math.isfinite(number):
        raise ValueError(value)
    if not integer:
        return float(number)
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError(value)
        return int(number)
    return number


def _parse_number(text: str) -> int | float:
    if len(text) > 400:  # no answer is that long a number; int() of 4300+ digits would raise
        raise OverflowError(text)
    if not text.isascii():  # float() reads other scripts' digits ("١٢٣"); answers use 0-9
        raise ValueError(text)
    return int(text) if _INT_TEXT.fullmatch(text) else float(text)


_INT_TEXT = re.compile(r"[+-]?[0-9]+")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass
class QuestionSet:
    """The ordered questions, by id, and what they give an answers file."""

    questions: list[Question]
    by_id: dict[str, Question] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {q.id: q for q in self.questions}

    def with_choices_from(self, values: Mapping[str, Any], name: str) -> QuestionSet:
        """These questions, with those reading `choices_from: name` limited to `values`."""
        choices = tuple(Choice(value=str(value)) for value in values)
        return QuestionSet(
            [replace(q, choices=choices) if q.choices_from == name else q for q in self.questions]
        )

    def defaults(self) -> dict[str, Any]:
        return {q.id: q.default for q in self.questions}

    def answers_model(self) -> Any:
        """A pydantic model of an answers file, built from the questions (for the JSON Schema)."""
        from pydantic import ConfigDict, create_model

        fields: dict[str, Any] = {q.id: _field(q) for q in self.questions}
        return create_model("Answers", __config__=ConfigDict(extra="forbid"), **fields)

    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of an answers file, for editors (VS Code's YAML extension and others)."""
        schema: dict[str, Any] = self.answers_model().model_json_schema()
        schema["title"] = "advisor answers file"
        schema["description"] = "Answers to the advisor interview; every field is optional."
        schema.pop("required", None)
        return schema


def _field(question: Question) -> tuple[Any, Any]:
    from pydantic import Field

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
        limits: dict[str, Any] = {"ge": question.min, "le": question.max}
        if kind == "float":
            limits["allow_inf_nan"] = False
        return (annotation, Field(question.default, description=text, **limits))
    if question.choices:
        # a text answer limited to a catalogue list (the regions): the schema lists them as an enum
        listed: Any = Literal[tuple(question.values)]
        return (listed, Field(question.default, description=text))
    return (
        str,
        Field(
            question.default,
            pattern=question.pattern,
            max_length=question.max_length,
            description=text,
        ),
    )


_BOUND_SOURCE = re.compile(r"^(https://\S+|definition: .+)$")


def load_questions(path: Path, cache: YamlCache | None = None) -> QuestionSet:
    data = cache.load(path, BadRuleFile) if cache else load_yaml_file(path, BadRuleFile)
    items = data.get("questions") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise BadRuleFile(f"{path}: expected a mapping with a 'questions' list")
    questions = []
    for index, item in enumerate(items):
        where = f"{path}: question {item.get('id', index) if isinstance(item, Mapping) else index}"
        if not isinstance(item, Mapping):
            raise BadRuleFile(f"{where}: expected a mapping")
        try:
            question = validate(Question, item)
            question.condition  # noqa: B018 - compile now so a bad `when` fails at load
            question.regex  # noqa: B018
            if question.max is not None and not _BOUND_SOURCE.match(question.bounds_source or ""):
                raise DefinitionError(
                    "bounds_source: a question with 'max' cites the documented limit (an"
                    " https:// URL) or says 'definition: ...'; the docs give no bound otherwise,"
                    " so leave 'max' out"
                )
            if question.default is not None or question.type == "choice":
                question.accept(question.default)
        except (DefinitionError, ConditionError, re.error) as exc:
            raise BadRuleFile(f"{where}: {exc}") from None
        except ValueError:
            raise BadRuleFile(
                f"{where}: default {question.default!r} is not {question.allowed()}"
            ) from None
        questions.append(question)
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise BadRuleFile(f"{path}: question id '{question.id}' is defined twice")
        seen.add(question.id)
    return QuestionSet(questions)


def validate_answers(raw: Mapping[str, Any], questions: QuestionSet, origin: str) -> dict[str, Any]:
    """Check raw answers against the questions; return every id with defaults filled in.

    `origin` names where the answers came from (a file path, `--set`, the wizard) for messages.
    """
    for key in raw:
        if key not in questions.by_id:
            close = difflib.get_close_matches(str(key), list(questions.by_id), n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise BadAnswers(f"{origin}: field {quoted(str(key))}: unknown question id{hint}")
    answers = questions.defaults()
    for key, value in raw.items():
        question = questions.by_id[key]
        try:
            answers[key] = question.accept(value)
        except OverflowError:
            raise BadAnswers(
                f"{origin}: field '{key}': a number too large; expected {question.allowed()}"
            ) from None
        except ValueError:
            # shown(), not repr(): an aliased value can be huge once printed in full
            raise BadAnswers(
                f"{origin}: field '{key}': {shown(value)} is not allowed;"
                f" expected {question.allowed()}"
            ) from None
    return answers
