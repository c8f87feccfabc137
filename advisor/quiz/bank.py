"""The quiz bank: exam scenarios from rules/scenarios/, checked against the questions and rules.

One file per scenario (`<id>.yaml`); files starting with `_` hold the bank's own data: the topics
(the guide's "Exam Focus Areas"), how each dimension is asked, and the scenarios the guide states.
A scenario holds facts and the answer it expects; the answer the quiz uses comes from the engine.

    id: hardware-bert-large-tpu        # the file's name
    dimension: hardware                # a decision listed in _dimensions.yaml
    topics: [training_infrastructure]  # ids from _topics.yaml
    guide_scenarios: [exam-2]          # optional: ids from _guide_scenarios.yaml
    question: ...                      # optional: overrides the dimension's question
    trap: ...                          # optional: what a naive reading of the guide suggests
    story: ...                         # the exam-style story (50 to 120 words)
    source: https://...                # a public page a learner can open to read more
    options:                           # optional: how this story words its options, by option id
      tpu: Train on a Cloud TPU v3-8 with TPUStrategy ...   # (a choice, steps joined by "+", or a
                                                            # tip id); the engine decides which
                                                            # is right, the others are distractors
    facts: {task: text_classification, framework: tensorflow, ...}   # answer ids, validated
    expected: tpu                      # the choice, or {choice: automl, <field>: value, ...};
                                       # tips: the tip id. Null means the field is absent.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.errors import AdvisorError, BadAnswers, BadRuleFile
from advisor.ruleset.questions import validate_answers
from advisor.ruleset.rules import RuleSet
from advisor.ruleset.yamlio import load_yaml_file

TOPICS_FILE = "_topics.yaml"
DIMENSIONS_FILE = "_dimensions.yaml"
GUIDE_FILE = "_guide_scenarios.yaml"
FACTS_FILE = "_facts.yaml"  # what each fact a rule tests is called in a learner's words
DOMAINS_FILE = "_domains.yaml"  # the exam's official domains, their weights and our topics
TIP_KEY = "tip"  # the key of a multi decision's expected answer: {tip: <id>}


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    focus: str = ""


class Domain(BaseModel):
    """One of the exam's official domains: its weight in percent and the topics that touch it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    weight: int = Field(ge=0, le=100)
    topics: list[str] = []
    missing: str = ""  # what the exam asks in this domain that the bank does not


class GuideScenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    section: str
    scenario: str


class DimensionSpec(BaseModel):
    """How the quiz asks about one dimension."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str
    labels: dict[str, str] = {}
    label_field: str | None = None


class _DimensionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dimensions: dict[str, DimensionSpec]
    fields: dict[str, str] = {}


class _ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    dimension: str
    topics: list[str] = Field(min_length=1)
    story: str = Field(min_length=20)
    facts: dict[str, Any]
    expected: str | dict[str, Any]
    source: str = Field(pattern=r"^https://[a-z0-9.-]+\.[a-z]+/\S*$")
    options: dict[str, str] = {}
    question: str | None = None
    trap: str | None = None  # what a naive reading of the guide suggests
    guide_scenarios: list[str] = []


@dataclass(frozen=True)
class Scenario:
    """One exam scenario: a story, its facts (validated answers) and the answer it expects."""

    id: str
    dimension: str
    topics: tuple[str, ...]
    story: str
    facts: dict[str, Any]  # as written in the file
    answers: dict[str, Any]  # every answer id, defaults filled in
    expected: dict[str, Any]  # normalized: {choice: ..., <field>: ...} or {tip: ...}
    question: str | None
    trap: str | None
    guide_scenarios: tuple[str, ...]
    path: Path
    source: str = ""
    options: dict[str, str] = field(default_factory=dict)  # option id -> this story's wording


@dataclass
class Bank:
    """Every scenario, with the topics, dimension specs and guide scenarios they refer to."""

    scenarios: list[Scenario]
    topics: list[Topic]
    dimensions: dict[str, DimensionSpec]
    field_formats: dict[str, str]
    guide_scenarios: list[GuideScenario]
    root: Path
    fact_names: dict[str, str] = field(default_factory=dict)
    domains: list[Domain] = field(default_factory=list)
    by_id: dict[str, Scenario] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {s.id: s for s in self.scenarios}

    @property
    def topic_ids(self) -> list[str]:
        return [t.id for t in self.topics]

    def topic_title(self, topic_id: str) -> str:
        return next((t.title for t in self.topics if t.id == topic_id), topic_id)

    def with_topics(self, topics: list[str] | None) -> list[Scenario]:
        """Scenarios tagged with any of `topics` (all of them when none are given)."""
        if not topics:
            return list(self.scenarios)
        wanted = set(topics)
        return [s for s in self.scenarios if wanted & set(s.topics)]

    def check_topics(self, topics: list[str]) -> None:
        """Refuse unknown topic ids, naming the allowed ones."""
        for topic in topics:
            if topic not in self.topic_ids:
                close = difflib.get_close_matches(topic, self.topic_ids, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                allowed = ", ".join(self.topic_ids)
                raise AdvisorError(
                    f"--topic: '{topic}' is not a quiz topic{hint} (topics: {allowed})"
                )


def load_bank(root: Path, ruleset: RuleSet) -> Bank:
    """Load and check every scenario under `root` (rules/scenarios/) against `ruleset`."""
    topics = _load_list(root / TOPICS_FILE, "topics", Topic)
    guide = _load_list(root / GUIDE_FILE, "guide_scenarios", GuideScenario)
    dimensions_path = root / DIMENSIONS_FILE
    data = load_yaml_file(dimensions_path, BadRuleFile)
    try:
        dims = _DimensionsFile.model_validate(data)
    except ValidationError as exc:
        raise BadRuleFile(f"{dimensions_path}: {_first_error(exc)}") from None
    for name in dims.dimensions:
        if name not in ruleset.decision_names:
            raise BadRuleFile(
                f"{dimensions_path}: dimensions: '{name}' is not a decision"
                f" ({', '.join(ruleset.decision_names)})"
            )
    topic_ids = {t.id for t in topics}
    guide_ids = {g.id for g in guide}
    domains = _load_list(root / DOMAINS_FILE, "domains", Domain)
    for domain in domains:
        for topic in domain.topics:
            if topic not in topic_ids:
                raise BadRuleFile(
                    f"{root / DOMAINS_FILE}: domains: {domain.id}: '{topic}' is not a topic of"
                    f" {TOPICS_FILE} ({', '.join(sorted(topic_ids))})"
                )
    scenarios = []
    for path in sorted(root.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        scenarios.append(_load_scenario(path, ruleset, dims, topic_ids, guide_ids))
    seen: dict[str, Path] = {}
    for scenario in scenarios:
        if scenario.id in seen:
            raise BadRuleFile(
                f"{scenario.path}: id '{scenario.id}' already used by {seen[scenario.id]}"
            )
        seen[scenario.id] = scenario.path
    return Bank(
        scenarios,
        topics,
        dict(dims.dimensions),
        dict(dims.fields),
        guide,
        root,
        _load_fact_names(root / FACTS_FILE, ruleset),
        domains,
    )


def _load_fact_names(path: Path, ruleset: RuleSet) -> dict[str, str]:
    """Fact id -> a learner's name for it; every fact a rule condition tests must have one."""
    data = load_yaml_file(path, BadRuleFile)
    names = data.get("facts") if isinstance(data, Mapping) else None
    if not isinstance(names, Mapping) or not all(isinstance(v, str) for v in names.values()):
        raise BadRuleFile(f"{path}: expected a mapping 'facts' of fact id -> name")
    tested = {
        atom.fact
        for rules in ruleset.rules.values()
        for rule in rules
        for atom in rule.condition.atoms
    }
    missing = sorted(tested - set(names))
    if missing:
        raise BadRuleFile(
            f"{path}: facts: no name for {', '.join(missing)} (rule conditions test them)"
        )
    return dict(names)


def _load_list(path: Path, key: str, model: type[Any]) -> list[Any]:
    data = load_yaml_file(path, BadRuleFile)
    items = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise BadRuleFile(f"{path}: expected a mapping with a '{key}' list")
    try:
        return [model.model_validate(item) for item in items]
    except ValidationError as exc:
        raise BadRuleFile(f"{path}: {key}: {_first_error(exc)}") from None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])


def _load_scenario(
    path: Path,
    ruleset: RuleSet,
    dims: _DimensionsFile,
    topic_ids: set[str],
    guide_ids: set[str],
) -> Scenario:
    data = load_yaml_file(path, BadRuleFile)
    if not isinstance(data, Mapping):
        raise BadRuleFile(f"{path}: a scenario file must be a mapping")
    try:
        raw = _ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise BadRuleFile(f"{path}: {_first_error(exc)}") from None
    where = f"{path}: scenario {raw.id}"
    if path.stem != raw.id:
        raise BadRuleFile(f"{where}: the file must be named {raw.id}.yaml")
    if raw.dimension not in dims.dimensions:
        raise BadRuleFile(
            f"{where}: dimension '{raw.dimension}' is not one of {', '.join(dims.dimensions)}"
        )
    for topic in raw.topics:
        if topic not in topic_ids:
            raise BadRuleFile(
                f"{where}: topics: '{topic}' is not a topic of {TOPICS_FILE}"
                f" ({', '.join(sorted(topic_ids))})"
            )
    for ref in raw.guide_scenarios:
        if ref not in guide_ids:
            raise BadRuleFile(f"{where}: guide_scenarios: '{ref}' is not an id of {GUIDE_FILE}")
    try:
        answers = validate_answers(raw.facts, ruleset.questions, f"{where}: facts")
    except BadAnswers as exc:
        raise BadRuleFile(str(exc)) from None
    expected = _normalize_expected(raw.expected, raw.dimension, ruleset, where)
    _check_option_ids(raw.options, raw.dimension, ruleset, where)
    return Scenario(
        id=raw.id,
        dimension=raw.dimension,
        topics=tuple(raw.topics),
        story=" ".join(raw.story.split()),
        facts=dict(raw.facts),
        answers=answers,
        expected=expected,
        question=raw.question,
        trap=" ".join(raw.trap.split()) if raw.trap else None,
        guide_scenarios=tuple(raw.guide_scenarios),
        path=path,
        source=raw.source,
        options={key: " ".join(text.split()) for key, text in raw.options.items()},
    )


def _check_option_ids(
    options: Mapping[str, str], dimension: str, ruleset: RuleSet, where: str
) -> None:
    """An option id is a choice of the dimension, steps joined by '+', or (tips) a tip id."""
    decision = ruleset.decision(dimension)
    if decision.kind == "multi":
        allowed = {str(rule.then.get(TIP_KEY)) for rule in ruleset.rules[dimension]}
    else:
        allowed = set(decision.choices)
    for key in options:
        parts = key.split(":")[0].split("+")
        if not all(part in allowed for part in parts) or (
            decision.kind == "multi" and len(parts) > 1
        ):
            raise BadRuleFile(
                f"{where}: options: '{key}' is not an option id (one of"
                f" {', '.join(sorted(allowed))}, or steps joined by '+'; ':value' adds a detail)"
            )


def _normalize_expected(
    expected: str | dict[str, Any], dimension: str, ruleset: RuleSet, where: str
) -> dict[str, Any]:
    """A string is the choice (or, for a multi decision, the tip id); a mapping names fields too."""
    decision = ruleset.decision(dimension)
    rules = ruleset.rules[dimension]
    if decision.kind == "multi":
        tip = expected.get(TIP_KEY) if isinstance(expected, Mapping) else expected
        if isinstance(expected, Mapping) and set(expected) != {TIP_KEY}:
            raise BadRuleFile(f"{where}: expected: a {dimension} answer is a tip id or {{tip: ID}}")
        known = sorted({str(rule.then.get(TIP_KEY)) for rule in rules})
        if tip not in known:
            raise BadRuleFile(f"{where}: expected: '{tip}' is not a tip ({', '.join(known)})")
        return {TIP_KEY: tip}
    mapping = {"choice": expected} if isinstance(expected, str) else dict(expected)
    if mapping.get("choice") not in decision.choices:
        raise BadRuleFile(
            f"{where}: expected.choice: {mapping.get('choice')!r} is not one of"
            f" {', '.join(decision.choices)}"
        )
    outputs = {key for rule in rules for key in rule.then if key not in ("limits", "warnings")}
    for key in mapping:
        if key not in outputs:
            raise BadRuleFile(
                f"{where}: expected.{key}: no {dimension} rule outputs '{key}'"
                f" (fields: {', '.join(sorted(outputs))})"
            )
    return mapping
