"""Rules and decisions as data: rules/decisions.yaml and one file per rule in rules/<decision>/.

Loading checks each file's shape and its references (facts, choices, expression names), so a
broken rule is reported with its file and id before anything runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from advisor.errors import BadRuleFile
from advisor.ruleset.cache import RuleSetCache
from advisor.ruleset.catalogue import Catalogue, load_catalogue
from advisor.ruleset.conditions import Condition, ConditionError, compile_condition
from advisor.ruleset.expressions import Expression, ExpressionError, is_expression, parse_expression
from advisor.ruleset.questions import QuestionSet, load_questions
from advisor.ruleset.schema import STRICT_KEYS, DefinitionError, Limits, pickle_state, validate
from advisor.ruleset.yamlcache import YamlCache


@dataclass(frozen=True)
class Decision:
    """One dimension of the recommendation (service, hardware, ...)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT_KEYS

    name: str
    title: str
    kind: Literal["single", "multi"] = "single"  # multi: every matching rule contributes (tips)
    output: Literal["decisions", "top"] = "decisions"  # top: its own key in the JSON (cost, tips)
    choices: tuple[str, ...] = ()
    help: str = ""
    sizing: Literal["machines", "node_hours"] | None = None  # the catalogue step after its rule
    labels: dict[str, str] = field(
        default_factory=dict, hash=False
    )  # choice -> what a person reads

    def label(self, choice: Any) -> str:
        """The label of a choice (the choice itself when it has none, such as a tip)."""
        return self.labels.get(choice, str(choice)) if isinstance(choice, str) else str(choice)


@dataclass(frozen=True)
class RuleCase:
    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT_KEYS

    name: Annotated[str, Limits(pattern=r"^[a-z0-9_]+$")]
    fires: bool
    answers: dict[str, Any] = field(default_factory=dict)
    expect: dict[str, Any] = field(default_factory=dict)  # optional checks: decision -> choice


@dataclass(frozen=True)
class Rule:
    """One rule: when its condition holds and no rule of lower priority matched, it decides."""

    __pydantic_config__: ClassVar[dict[str, Any]] = STRICT_KEYS

    id: Annotated[str, Limits(pattern=r"^[A-Z]+(-[A-Z0-9]+)+$")]
    decision: str
    priority: Annotated[int, Limits(ge=0)]
    title: str
    then: dict[str, Any]
    because: str
    source: str
    cases: Annotated[tuple[RuleCase, ...], Limits(min_length=2)]
    when: Any = None
    refines: str | None = None  # the id of the guide rule this refinement sharpens
    path: Path | None = None

    @cached_property
    def condition(self) -> Condition:
        return compile_condition(self.when)

    @cached_property
    def expressions(self) -> dict[str, Expression]:
        return {
            key: parse_expression(value) for key, value in self.then.items() if is_expression(value)
        }

    @property
    def choice(self) -> str | None:
        value = self.then.get("choice")
        return value if isinstance(value, str) and not is_expression(value) else None

    def __getstate__(self) -> dict[str, Any]:
        return pickle_state(self)


@dataclass
class RuleSet:
    """Questions, decisions in evaluation order, and the rules of each decision by priority."""

    questions: QuestionSet
    decisions: list[Decision]
    rules: dict[str, list[Rule]]
    root: Path
    catalogue: Catalogue | None = None
    by_id: dict[str, Rule] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {rule.id: rule for rules in self.rules.values() for rule in rules}

    @property
    def decision_names(self) -> list[str]:
        return [d.name for d in self.decisions]

    def decision(self, name: str) -> Decision:
        return next(d for d in self.decisions if d.name == name)

    def label(self, name: str, value: Any) -> str:
        """What a person reads for `value` of a decision or question `name` (its label)."""
        if name in self.decision_names:
            return self.decision(name).label(value)
        question = self.questions.by_id.get(name)
        if question is not None and isinstance(value, str):
            for choice in question.choices:
                if choice.value == value and choice.label:
                    return choice.label
        return str(value)


def load_rules(root: Path) -> RuleSet:
    """Load and cross-check every file under `root` (a rules/ folder).

    A checked rule set is cached until a file under `root` (or advisor's own code) changes, so
    starting the CLI costs one unpickle, not parsing and validating a hundred files.
    """
    compiled = RuleSetCache(root)
    ruleset = compiled.load()
    if not isinstance(ruleset, RuleSet):
        ruleset = _load_rule_files(root)
        compiled.save(ruleset)
    return ruleset


def _load_rule_files(root: Path) -> RuleSet:
    cache = YamlCache(root)
    questions = load_questions(root / "questions.yaml", cache)
    decisions = _load_decisions(root / "decisions.yaml", cache)
    by_name = {d.name: d for d in decisions}
    rules: dict[str, list[Rule]] = {d.name: [] for d in decisions}
    seen: dict[str, Path] = {}
    for decision in decisions:
        folder = root / decision.name
        for path in sorted(folder.glob("*.yaml")):
            rule = _load_rule(path, cache)
            if rule.decision != decision.name:
                raise BadRuleFile(
                    f"{path}: rule {rule.id}: decision '{rule.decision}' but the file is in"
                    f" rules/{decision.name}/"
                )
            if rule.id in seen:
                raise BadRuleFile(f"{path}: rule {rule.id}: id already used by {seen[rule.id]}")
            seen[rule.id] = path
            rules[decision.name].append(rule)
        rules[decision.name].sort(key=lambda r: (r.priority, r.id))
    catalogue = load_catalogue(root / "catalogue", cache)
    if catalogue is not None:
        questions = questions.with_choices_from(catalogue.regions, "regions")
    cache.save()
    ordered = _order(decisions, rules)
    ruleset = RuleSet(questions, ordered, {d.name: rules[d.name] for d in ordered}, root, catalogue)
    for rule in ruleset.by_id.values():
        _cross_check(rule, ruleset, by_name)
    for question in questions.questions:
        for atom in question.condition.atoms:
            _check_fact(atom.fact, atom.value, ruleset, f"question {question.id}")
    return ruleset


def _load_decisions(path: Path, cache: YamlCache) -> list[Decision]:
    data = cache.load(path, BadRuleFile)
    items = data.get("decisions") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise BadRuleFile(f"{path}: expected a mapping with a 'decisions' list")
    try:
        decisions = [validate(Decision, item) for item in items]
    except DefinitionError as exc:
        raise BadRuleFile(f"{path}: {exc}") from None
    for decision in decisions:
        unknown = sorted(set(decision.labels) - set(decision.choices))
        if unknown:
            raise BadRuleFile(
                f"{path}: decision {decision.name}: labels for unknown choices:"
                f" {', '.join(unknown)} (choices: {', '.join(decision.choices)})"
            )
        missing = [choice for choice in decision.choices if not decision.labels.get(choice)]
        if missing:
            raise BadRuleFile(
                f"{path}: decision {decision.name}: choices without a label: {', '.join(missing)}"
                " (add them under 'labels')"
            )
    return decisions


def _load_rule(path: Path, cache: YamlCache) -> Rule:
    data = cache.load(path, BadRuleFile)
    rule_id = data.get("id", "?") if isinstance(data, Mapping) else "?"
    if not isinstance(data, Mapping):
        raise BadRuleFile(f"{path}: a rule file must be a mapping")
    if path.stem != rule_id:
        raise BadRuleFile(f"{path}: rule {rule_id}: the file must be named {rule_id}.yaml")
    try:
        rule = validate(Rule, {**data, "path": path})
        rule.condition  # noqa: B018 - compile now
        rule.expressions  # noqa: B018
    except (DefinitionError, ConditionError, ExpressionError) as exc:
        raise BadRuleFile(f"{path}: rule {rule_id}: {exc}") from None
    return rule


def rule_dependencies(rule: Rule) -> set[str]:
    """Names a rule reads: facts of its condition and names (heads) of its expressions."""
    names = set(rule.condition.facts)
    for expression in rule.expressions.values():
        names |= {name.split(".")[0] for name in expression.names}
    return names


def _order(decisions: list[Decision], rules: dict[str, list[Rule]]) -> list[Decision]:
    """Topological order of decisions by the decisions their rules read; file order breaks ties."""
    names = [d.name for d in decisions]
    needs = {
        name: {dep for rule in rules[name] for dep in rule_dependencies(rule)} & set(names) - {name}
        for name in names
    }
    ordered: list[str] = []
    pending = list(names)
    while pending:
        ready = [name for name in pending if needs[name] <= set(ordered)]
        if not ready:
            raise BadRuleFile(f"decisions depend on each other in a cycle: {', '.join(pending)}")
        ordered.append(ready[0])
        pending.remove(ready[0])
    by_name = {d.name: d for d in decisions}
    return [by_name[name] for name in ordered]


def _cross_check(rule: Rule, ruleset: RuleSet, decisions: Mapping[str, Decision]) -> None:
    where = f"{rule.path}: rule {rule.id}"
    decision = decisions[rule.decision]
    if decision.kind == "single":
        choice = rule.then.get("choice")
        if choice is None:
            raise BadRuleFile(f"{where}: 'then' needs a 'choice'")
        if rule.choice is not None and rule.choice not in decision.choices:
            raise BadRuleFile(
                f"{where}: choice '{choice}' is not one of {', '.join(decision.choices)}"
            )
    for atom in rule.condition.atoms:
        _check_fact(atom.fact, atom.value, ruleset, where)
        if atom.other:
            _check_fact(atom.other, None, ruleset, where)
    order = ruleset.decision_names
    for key, expression in rule.expressions.items():
        for name in expression.names:
            head = name.split(".")[0]
            known = head in ruleset.questions.by_id or head in order or head in rule.then
            if not known:
                raise BadRuleFile(f"{where}: then.{key} reads unknown name '{name}'")
    for case in rule.cases:
        for key in case.answers:
            if key not in ruleset.questions.by_id:
                raise BadRuleFile(f"{where}: case {case.name}: unknown answer id '{key}'")
        for key in case.expect:
            if key not in order:
                raise BadRuleFile(f"{where}: case {case.name}: unknown decision '{key}'")


def _check_fact(fact: str, value: Any, ruleset: RuleSet, where: str) -> None:
    # A name can be both an answer and a decision (framework): before the decision is
    # reached it reads the answer, after it the choice, so either set of values is allowed.
    question = ruleset.questions.by_id.get(fact)
    is_decision = fact in ruleset.decision_names
    if question is None and not is_decision:
        raise BadRuleFile(f"{where}: condition reads unknown fact '{fact}'")
    allowed: tuple[str, ...] = ()
    if question is not None and question.type == "choice":
        allowed += tuple(question.values)
    if is_decision:
        allowed += ruleset.decision(fact).choices
    if allowed and value is not None:
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        for item in values:
            if item not in allowed:
                raise BadRuleFile(
                    f"{where}: '{item}' is not a value of {fact} ({', '.join(allowed)})"
                )
