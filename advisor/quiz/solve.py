"""The engine's answer to a quiz scenario, the options offered, and why each one wins or loses.

Nothing here stores an answer: the correct option is the engine's recommendation for the scenario's
facts, and distractors are what the engine answers for nearby facts (one answer changed; two, when
one leaves the question short) or what rules that also matched would have given. Names of rules,
questions and fields come from the data.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from advisor.engine import Recommendation, recommend
from advisor.errors import BadAnswers
from advisor.quiz.bank import TIP_KEY, Bank, Scenario
from advisor.ruleset.conditions import Atom, compile_condition
from advisor.ruleset.expressions import is_expression
from advisor.ruleset.questions import Question, validate_answers
from advisor.ruleset.rules import Rule, RuleSet, rule_dependencies

# The choice every dimension takes when it does not apply (a value of the public interface): as a
# distractor it is the least tempting, so it is offered last.
NOT_APPLICABLE = "not_applicable"
MAX_OPTIONS = 4
COMBINED = "combined"  # the compression choice whose steps list the techniques combined
_LIST_PREVIEW = 4  # values of an `in` test shown before "..."

Changes = tuple[tuple[str, Any], ...]  # changed answers: (answer id, value) pairs


@dataclass(frozen=True)
class Option:
    """One answer a question offers: the projected decision fields and how they read."""

    values: dict[str, Any] = field(hash=False)
    label: str
    rules: tuple[str, ...] = ()  # rules that give this option (here or for nearby facts)
    nearby: Changes = ()  # the changed answers (one or two) that make it the answer

    @property
    def key(self) -> str:
        return option_key(self.values)


@dataclass
class Solution:
    """What the engine answers for a scenario, with the rule that decided and its reasons."""

    scenario: Scenario
    rec: Recommendation
    answer: dict[str, Any]  # the engine's output projected onto the expected keys
    rule: str | None
    because: str
    source: str
    warnings: list[str]

    @property
    def agrees(self) -> bool:
        return self.answer == self.scenario.expected


def option_key(values: Mapping[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def decision_output(rec: Recommendation, dimension: str) -> Any:
    return rec.decisions.get(dimension, rec.top.get(dimension))


def project(output: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    return {key: output.get(key) for key in keys}


def solve(scenario: Scenario, ruleset: RuleSet) -> Solution:
    """Run the engine over the scenario's facts and read the asked dimension."""
    rec = recommend(scenario.answers, ruleset)
    output = decision_output(rec, scenario.dimension)
    if ruleset.decision(scenario.dimension).kind == "multi":
        wanted = scenario.expected[TIP_KEY]
        hit = next((item for item in output if item["id"] == wanted), None)
        chosen = hit or (output[0] if output else None)
        if chosen is None:
            return Solution(scenario, rec, {TIP_KEY: None}, None, "No tip applies here.", "", [])
        return Solution(
            scenario,
            rec,
            {TIP_KEY: chosen["id"]},
            chosen["rule"],
            chosen["text"],
            chosen["source"],
            [],
        )
    return Solution(
        scenario,
        rec,
        project(output, list(scenario.expected)),
        output["rule"],
        output["because"],
        output["source"],
        list(output.get("warnings", [])),
    )


# --- options -------------------------------------------------------------------------------------


def option_id(values: Mapping[str, Any], list_field: str | None) -> str:
    """The id a scenario's `options` words an option by: the tip, or the steps joined by '+' (the
    choice when there are none), followed by its other details (a budget, a model type, a
    quantization type) as ':value' each, so that a wording always goes with the figures the
    engine computed."""
    if TIP_KEY in values:
        return str(values[TIP_KEY])
    items = values.get(list_field) if list_field else None
    if isinstance(items, list) and items:
        head = "+".join(str(item) for item in items)
    else:
        head = str(values.get("choice"))
    return ":".join([head, *_detail_ids(values, list_field)])


def _detail_ids(values: Mapping[str, Any], list_field: str | None) -> list[str]:
    """An option's details (every field but the choice and the list field) as option-id parts."""
    return [
        _value_id(v) for k, v in values.items() if k not in ("choice", list_field) and v is not None
    ]


def _value_id(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _detailed_label(labels: Mapping[str, str], name: str, details: list[str]) -> str | None:
    """The dimension's label for `name` with these details (e.g. a label written for
    'post_training_quantization:float16'), where _dimensions.yaml has one."""
    return labels.get(":".join([name, *details])) if details else None


def option_label(
    values: Mapping[str, Any],
    dimension: str,
    bank: Bank,
    ruleset: RuleSet,
    scenario: Scenario | None = None,
) -> str:
    """How an option reads: the scenario's own wording where it has one, else the dimension's
    labels and field formats (rules/scenarios/_dimensions.yaml)."""
    if scenario is not None and scenario.options:
        key = option_id(values, bank.dimensions[dimension].label_field)
        if key in scenario.options:
            return scenario.options[key]
    if TIP_KEY in values:
        rule = _tip_rule(ruleset, dimension, values[TIP_KEY])
        return rule.title if rule else str(values[TIP_KEY])
    spec = bank.dimensions[dimension]
    labels = spec.labels
    choice = values.get("choice")
    list_field = spec.label_field
    items = values.get(list_field) if list_field else None
    details = _detail_ids(values, list_field)
    # A label written for a name with these details (post_training_quantization:float16) says
    # them already; otherwise each detail is added in its field's format.
    detailed = [
        _detailed_label(labels, str(name), details)
        for name in (items if isinstance(items, list) and items else [choice])
    ]
    if isinstance(items, list) and items:
        names = [
            d or labels.get(str(item), str(item)) for d, item in zip(detailed, items, strict=True)
        ]
        head = ", then ".join([names[0], *(_lower_first(name) for name in names[1:])])
    else:
        head = detailed[0] or labels.get(str(choice), str(choice))
    parts = [head]
    for key, value in values.items():
        if key in ("choice", list_field) or value in (None, [], "") or any(detailed):
            continue
        template = bank.field_formats.get(key, key.replace("_", " ") + " {value}")
        parts.append(template.format(value=value))
    return ", ".join(parts)


def _lower_first(text: str) -> str:
    """'Pruning' -> 'pruning' inside a list; 'TensorRT' and 'TensorFlow Lite' stay as they are."""
    word = text.split(" ")[0]
    return text[:1].lower() + text[1:] if word[1:] == word[1:].lower() else text


def _tip_rule(ruleset: RuleSet, dimension: str, tip: Any) -> Rule | None:
    return next((r for r in ruleset.rules[dimension] if r.then.get(TIP_KEY) == tip), None)


def _option_keys(solution: Solution, bank: Bank, ruleset: RuleSet) -> list[str]:
    """The fields an option is made of: the expected ones, plus the dimension's label field."""
    keys = list(solution.scenario.expected)
    list_field = bank.dimensions[solution.scenario.dimension].label_field
    outputs = {k for rule in ruleset.rules[solution.scenario.dimension] for k in rule.then}
    if list_field and list_field in outputs and list_field not in keys:
        keys.append(list_field)
    return keys


def _static_projection(rule: Rule, keys: list[str]) -> dict[str, Any] | None:
    """A rule's output on `keys` when none of them is computed (None when one is)."""
    values = {}
    for key in keys:
        raw = rule.then.get(key)
        if is_expression(raw):
            return None
        values[key] = raw
    return values


@dataclass
class _Candidate:
    values: dict[str, Any]
    tier: int
    count: int = 0
    rules: set[str] = field(default_factory=set)
    # (rule, changed answers) for each nearby answer set that gives this option
    hits: list[tuple[str, Changes]] = field(default_factory=list)


def build_options(
    solution: Solution, bank: Bank, ruleset: RuleSet, rng: random.Random, limit: int = MAX_OPTIONS
) -> tuple[list[Option], Option]:
    """The options of a question (shuffled by `rng`) and the correct one (the engine's answer)."""
    scenario = solution.scenario
    if ruleset.decision(scenario.dimension).kind == "multi":
        return _tip_options(solution, bank, ruleset, rng, limit)
    keys = _option_keys(solution, bank, ruleset)
    output = decision_output(solution.rec, scenario.dimension)
    correct_values = project(output, keys)
    correct = Option(
        correct_values,
        option_label(correct_values, scenario.dimension, bank, ruleset, scenario),
        (str(solution.rule),),
    )
    expected_keys = list(scenario.expected)
    answer = project(correct_values, expected_keys)
    candidates: dict[str, _Candidate] = {}

    def add(
        values: dict[str, Any],
        tier: int,
        rule: str | None,
        nearby: Changes = (),
        skip: frozenset[str] = frozenset(),
    ) -> None:
        if project(values, expected_keys) == answer:
            return  # the same answer to what is asked: not a distractor
        if values.get("choice") == answer.get("choice") and any(
            values.get(k) is None for k in expected_keys
        ):
            return  # e.g. "AutoML" without the budget the question asks about
        if values.get("choice") == NOT_APPLICABLE and answer.get("choice") != NOT_APPLICABLE:
            tier = max(tier, 4)
        key = option_key(values)
        if key in skip:
            return  # found before, and explained by something nearer
        cand = candidates.setdefault(key, _Candidate(values, tier))
        cand.tier = min(cand.tier, tier)
        cand.count += 1
        if rule:
            cand.rules.add(rule)
            if nearby:
                cand.hits.append((rule, nearby))

    def add_nearby(
        changes: Changes, answers: dict[str, Any], skip: frozenset[str] = frozenset()
    ) -> None:
        out = decision_output(recommend(answers, ruleset), scenario.dimension)
        values = project(out, keys)
        # One fact away: the same choice with another detail, then another choice; two: further.
        same = values.get("choice") == answer.get("choice")
        tier = (1 if same else 2) if len(changes) == 1 else 3
        add(values, tier, out["rule"], changes, skip)

    # Rules that matched here but lost on priority: the answer a hasty reader gives.
    for step in solution.rec.trace:
        if step["decision"] != scenario.dimension:
            continue
        for considered in step["considered"]:
            if considered["matched"] and considered["rule"] != step["winner"]:
                rule = ruleset.by_id[considered["rule"]]
                values = _static_projection(rule, keys)
                if values is not None:
                    add(values, 0 if rule.when not in (None, {}) else 3, rule.id)
    # What the engine answers when one fact changes.
    for fact, value, answers in nearby_answers(scenario.answers, ruleset):
        add_nearby(((fact, value),), answers)
    # What every rule gives where its output is fixed, then any choice no rule gives on its own.
    for rule in ruleset.rules[scenario.dimension]:
        values = _static_projection(rule, keys)
        if values is not None:
            add(values, 3, rule.id)
    given = {r.choice for r in ruleset.rules[scenario.dimension]}
    for choice in ruleset.decision(scenario.dimension).choices:
        if choice not in given:
            add({key: (choice if key == "choice" else None) for key in keys}, 3, None)
    # The story's own distractors rank with the rules that nearly won (tier 0): written to be
    # plausible for this story, they come before answers one fact away.
    list_field = bank.dimensions[scenario.dimension].label_field
    for written in scenario.options:
        matches = [c for c in candidates.values() if option_id(c.values, list_field) == written]
        if not matches and ":" not in written:  # a detail is the engine's to compute
            values = _written_values(written, keys, list_field)
            add(values, 3, None)
            matches = [c for c in candidates.values() if option_key(c.values) == option_key(values)]
        for cand in matches:
            cand.tier = 0

    # Most plausible first: a rule that matched; the same choice with another detail; then answers
    # of rules whose priority lies near the winner's (neighbours in the decision tree).
    winner_priority = ruleset.by_id[str(solution.rule)].priority

    def gap(rule_id: str) -> int:
        return abs(ruleset.by_id[rule_id].priority - winner_priority)

    def distance(cand: _Candidate) -> int:
        return min((gap(r) for r in cand.rules), default=10**6)

    def nearby(cand: _Candidate) -> Changes:
        # The closest rule's change, fewest facts first, preferring answers the scenario states.
        hits = sorted(
            cand.hits,
            key=lambda h: (gap(h[0]), len(h[1]), sum(f not in scenario.facts for f, _ in h[1])),
        )
        return hits[0][1] if hits else ()

    def pick() -> list[Option]:
        chosen: list[Option] = []
        labels = {correct.label}
        ranked = sorted(
            candidates.values(),
            key=lambda c: (c.tier, distance(c), -c.count, option_key(c.values)),
        )
        for cand in ranked:
            label = option_label(cand.values, scenario.dimension, bank, ruleset, scenario)
            if label in labels:
                continue
            labels.add(label)
            chosen.append(Option(cand.values, label, tuple(sorted(cand.rules)), nearby(cand)))
            if len(chosen) == limit - 1:
                break
        return chosen

    chosen = pick()
    if len(chosen) < limit - 1:
        # Short: typically every rule computes the field asked (from an answer no condition
        # tests) and the one-fact neighbours agree. Look wider, at what the decision's own rules
        # give when one more of the answers they read changes. Answers found already keep their
        # nearer explanation.
        found = frozenset(candidates)
        for changes, answers in wider_answers(scenario.answers, ruleset, scenario.dimension):
            add_nearby(changes, answers, found)
        chosen = pick()
    options = [correct, *chosen]
    rng.shuffle(options)
    return options, correct


def _written_values(written: str, keys: list[str], list_field: str | None) -> dict[str, Any]:
    """The option values a scenario's option id stands for ('a+b' is a combination of steps)."""
    parts = written.split("+")
    values: dict[str, Any] = {key: None for key in keys}
    if list_field and list_field in keys and len(parts) > 1:
        values["choice"] = COMBINED
        values[list_field] = parts
    else:
        values["choice"] = written
        if list_field and list_field in keys:
            values[list_field] = []
    return values


def _tip_options(
    solution: Solution, bank: Bank, ruleset: RuleSet, rng: random.Random, limit: int
) -> tuple[list[Option], Option]:
    dimension = solution.scenario.dimension
    applies = {item["id"] for item in decision_output(solution.rec, dimension)}
    correct_values = dict(solution.answer)
    scenario = solution.scenario
    correct = Option(
        correct_values,
        option_label(correct_values, dimension, bank, ruleset, scenario),
        (str(solution.rule),),
    )
    counts: dict[str, int] = {}
    for _fact, _value, answers in nearby_answers(solution.scenario.answers, ruleset):
        for item in decision_output(recommend(answers, ruleset), dimension):
            if item["id"] not in applies:
                counts[item["id"]] = counts.get(item["id"], 0) + 1
    tips: dict[str, Rule] = {}
    for rule in ruleset.rules[dimension]:
        tips.setdefault(str(rule.then.get(TIP_KEY)), rule)
    others = [tip for tip in tips if tip not in applies]
    # The story's own distractors first, then tips that apply one fact away.
    others.sort(
        key=lambda tip: (
            tip not in scenario.options,
            0 if counts.get(tip) else 1,
            -counts.get(tip, 0),
            tip,
        )
    )
    chosen = [
        Option(
            {TIP_KEY: tip},
            option_label({TIP_KEY: tip}, dimension, bank, ruleset, scenario),
            (tips[tip].id,),
        )
        for tip in others[: limit - 1]
    ]
    options = [correct, *chosen]
    rng.shuffle(options)
    return options, correct


def _condition_facts(ruleset: RuleSet) -> tuple[set[str], dict[str, set[float]]]:
    """The facts rule conditions test, and the numeric thresholds they test each against."""
    thresholds: dict[str, set[float]] = {}
    read: set[str] = set()
    for rules in ruleset.rules.values():
        for rule in rules:
            for atom in rule.condition.atoms:
                read.add(atom.fact)
                if isinstance(atom.value, (int, float)) and not isinstance(atom.value, bool):
                    thresholds.setdefault(atom.fact, set()).add(atom.value)
    return read, thresholds


def _other_values(question: Question, current: Any, thresholds: set[float]) -> list[Any]:
    """Values other than `current` worth trying for a question (see nearby_answers)."""
    values: list[Any] = []
    if question.type == "choice":
        values = [v for v in question.values if v != current]
    elif question.type == "bool":
        values = [not current]
    elif question.type in ("int", "float"):
        for t in sorted(thresholds):
            near: list[float]
            if question.type == "int":
                near = [int(t) - 1, int(t), int(t) + 1]
            else:
                near = [t / 2, t, t * 2] if t > 0 else [t, 1.0]
            values += [v for v in near if v != current and v not in values]
    return values


def nearby_answers(
    answers: Mapping[str, Any], ruleset: RuleSet
) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """Valid answers that differ from `answers` in one fact some rule reads.

    Choices take every other value, booleans flip, numbers move to just below, at and just above
    each threshold the rules test (as `advisor rules check` splits the space).
    """
    read, thresholds = _condition_facts(ruleset)
    for question in ruleset.questions.questions:
        if question.id not in read:
            continue
        values = _other_values(
            question, answers.get(question.id), thresholds.get(question.id, set())
        )
        for value in values:
            try:
                changed = validate_answers({**answers, question.id: value}, ruleset.questions, "")
            except BadAnswers:
                continue
            yield question.id, value, changed


def wider_answers(
    answers: Mapping[str, Any], ruleset: RuleSet, dimension: str
) -> Iterator[tuple[Changes, dict[str, Any]]]:
    """Valid answers that differ from `answers` in one or two of the answers that the rules of
    `dimension` read, in their conditions or in the outputs they compute.

    Values are those of nearby_answers; a number also takes its question's default (an answer
    that only feeds a computed output, such as a requested amount, has no threshold to move
    around). One-fact changes that nearby_answers already makes are left out.
    """
    tested, thresholds = _condition_facts(ruleset)
    names: set[str] = set()
    for rule in ruleset.rules[dimension]:
        names |= rule_dependencies(rule)
    varied: list[tuple[str, list[Any]]] = []
    for question in ruleset.questions.questions:
        if question.id not in names:
            continue
        current = answers.get(question.id)
        values = _other_values(question, current, thresholds.get(question.id, set()))
        numeric = question.type in ("int", "float")
        if numeric and question.default not in (None, current) and question.default not in values:
            values.append(question.default)
        if values:
            varied.append((question.id, values))
    changes: list[Changes] = [
        ((fact, value),) for fact, values in varied if fact not in tested for value in values
    ]
    for index, (first, first_values) in enumerate(varied):
        for second, second_values in varied[index + 1 :]:
            changes += [((first, a), (second, b)) for a in first_values for b in second_values]
    for change in changes:
        try:
            changed = validate_answers({**answers, **dict(change)}, ruleset.questions, "")
        except BadAnswers:
            continue
        yield change, changed


# --- explanations --------------------------------------------------------------------------------


def facts_at(rec: Recommendation, ruleset: RuleSet, dimension: str) -> dict[str, Any]:
    """The facts the engine saw when it reached `dimension`: answers plus earlier choices."""
    facts = dict(rec.answers)
    for decision in ruleset.decisions:
        if decision.name == dimension:
            break
        if decision.kind == "single":
            facts[decision.name] = rec.choice(decision.name)
    return facts


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def describe_atom(atom: Atom) -> str:
    """An atomic test in words, with long value lists shortened."""
    symbols = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    if atom.op in ("in", "not_in"):
        items = sorted(str(v) for v in atom.value)
        shown = ", ".join(items[:_LIST_PREVIEW]) + (", ..." if len(items) > _LIST_PREVIEW else "")
        return f"{atom.fact} {'in' if atom.op == 'in' else 'not in'} [{shown}]"
    return f"{atom.fact} {symbols[atom.op]} {_value_text(atom.value)}"


def unmet(tree: Any, facts: Mapping[str, Any]) -> list[str]:
    """The parts of a `when` tree that fail for `facts`, each with the value it saw."""
    if tree in (None, {}) or compile_condition(tree)(facts):
        return []
    if "all" in tree:
        return [part for item in tree["all"] for part in unmet(item, facts)]
    if "any" in tree:
        parts = [" and ".join(unmet(item, facts)) for item in tree["any"]]
        return ["one of: " + "; or ".join(parts)]
    if "not" in tree:
        inner = compile_condition(tree["not"])
        return ["not (" + " and ".join(describe_atom(a) for a in inner.atoms) + ")"]
    atom = compile_condition(tree).atoms[0]
    return [f"{describe_atom(atom)} (here {_value_text(facts.get(atom.fact))})"]


def candidate_rules(
    option: Option, solution: Solution, ruleset: RuleSet
) -> tuple[list[Rule], set[str]]:
    """The rules that would give `option`, closest to winning first, and the rules that matched."""
    dimension = solution.scenario.dimension
    winner = ruleset.by_id.get(str(solution.rule))
    matched = {
        c["rule"]
        for step in solution.rec.trace
        if step["decision"] == dimension
        for c in step["considered"]
        if c["matched"]
    }
    ids = set(option.rules)
    if not ids and "choice" in option.values:
        ids = {r.id for r in ruleset.rules[dimension] if r.choice == option.values["choice"]}
    base = winner.priority if winner is not None else 0
    rules = sorted(
        (ruleset.by_id[i] for i in ids if i in ruleset.by_id),
        key=lambda r: (r.id not in matched, abs(r.priority - base), r.id),
    )
    return rules, matched


def why_not(option: Option, solution: Solution, ruleset: RuleSet) -> list[str]:
    """Why `option` is not the answer here, for rule authors (--debug): the rules that would give
    it, their ids and priorities, and the facts that stop them."""
    dimension = solution.scenario.dimension
    multi = ruleset.decision(dimension).kind == "multi"
    facts = facts_at(solution.rec, ruleset, dimension)
    winner = ruleset.by_id.get(str(solution.rule))
    # The rules closest to winning explain best: those that matched, then neighbours in priority.
    rules, matched = candidate_rules(option, solution, ruleset)
    lines = []
    for rule in rules[:2]:
        if winner is not None and rule.id == winner.id:
            lines.append(
                f"{rule.id} decides here too, but with these facts it gives another answer."
            )
        elif rule.id in matched and winner is not None:
            lines.append(
                f"{rule.id} ({rule.title}) also matches here, but {winner.id} comes first"
                f" (priority {winner.priority} vs {rule.priority}; the lower number wins)."
            )
        else:
            failing = "; ".join(unmet(rule.when, facts)) or "a condition that does not hold here"
            verb = "does not apply here: it needs" if multi else "would give it, but it needs"
            lines.append(f"{rule.id} ({rule.title}) {verb} {failing}.")
    if option.nearby:
        changed = " and ".join(
            f"{fact} = {_value_text(value)} (here {_value_text(solution.rec.answers.get(fact))})"
            for fact, value in option.nearby
        )
        lines.append(f"It would be the answer with {changed}.")
    if not lines:
        lines.append("No rule recommends it for these facts.")
    return lines


# --- multiple select -----------------------------------------------------------------------------

# Choices that are not a technique one can tick (they stand for no step, several, or none apply).
_NOT_A_STEP = {"none", COMBINED, NOT_APPLICABLE}
SEPARATOR = "\n"  # joins the keys of the options ticked in a multiple-select answer


def select_options(
    solution: Solution, bank: Bank, ruleset: RuleSet, rng: random.Random, limit: int = MAX_OPTIONS
) -> tuple[list[Option], Option] | None:
    """A multiple-select question when the engine's answer is a set of steps (two or more):
    one option per technique, the answer's steps and others; None otherwise."""
    dimension = solution.scenario.dimension
    list_field = bank.dimensions[dimension].label_field
    output = decision_output(solution.rec, dimension)
    steps = output.get(list_field) if list_field and isinstance(output, Mapping) else None
    if not isinstance(steps, list) or len(steps) < 2:
        return None
    keys = _option_keys(solution, bank, ruleset)
    correct_values = project(output, keys)
    correct = Option(
        correct_values,
        option_label(correct_values, dimension, bank, ruleset, solution.scenario),
        (str(solution.rule),),
    )
    others = [
        c for c in ruleset.decision(dimension).choices if c not in _NOT_A_STEP and c not in steps
    ]
    # Techniques this story's own options name come first: they were written to tempt.
    written = {part for key in solution.scenario.options for part in key.split(":")[0].split("+")}
    others.sort(key=lambda c: (c not in written, c))
    picks = [*steps, *others[: max(1, limit - len(steps))]]
    # A step reads with the answer's details where the dimension words it so (a float16 step).
    labels = bank.dimensions[dimension].labels
    details = _detail_ids(correct_values, list_field)
    options = [
        Option(
            {"choice": step},
            _detailed_label(labels, step, details) or labels.get(step, step),
        )
        for step in picks
    ]
    rng.shuffle(options)
    return options, correct


def combined_pick(
    keys: list[str], options: list[Option], correct: Option, list_field: str
) -> Option:
    """The option a multiple-select answer stands for: the ticked steps, in the engine's order
    when they are the engine's set (so that the answer compares equal), else as ticked."""
    ticked = [o.values["choice"] for o in options if o.key in keys]
    steps = list(correct.values.get(list_field) or [])
    if set(ticked) == set(steps):
        return correct
    values = {**correct.values, "choice": COMBINED, list_field: ticked}
    names = " and ".join(o.label for o in options if o.key in keys) or "nothing"
    return Option(values, f"Ticked: {names}")
