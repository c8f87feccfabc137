"""`rules check` over the catalogue: every sized recommendation is something one can rent.

Each case of a rule whose decision is sized (decisions.yaml `sizing: machines`), or that reads
that decision, runs in every region the catalogue knows. The machine and accelerator it names
must be a catalogue offer in that region, with memory that fits and a finite price, or the
recommendation must say plainly (a warning) that nothing there fits. A job scheduled on Spot
VMs must run where the catalogue offers Spot. Unsourced or undated entries fail at load.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from advisor.engine.evaluate import recommend
from advisor.errors import AdvisorError
from advisor.ruleset.questions import validate_answers
from advisor.ruleset.rules import RuleSet, rule_dependencies


def catalogue_problems(ruleset: RuleSet) -> list[str]:
    catalogue = ruleset.catalogue
    if catalogue is None:
        return []
    sized = [d.name for d in ruleset.decisions if d.sizing == "machines"]
    region_id = catalogue.sizing["inputs"].get("region")
    problems: list[str] = []
    for name in sized:
        # the sized decision's rules, and the rules that read it (cost)
        rules = [
            r for r in ruleset.by_id.values() if r.decision == name or name in rule_dependencies(r)
        ]
        for rule in rules:
            for case in rule.cases:
                for region in catalogue.regions:
                    answers = {**case.answers, region_id: region}
                    where = f"catalogue: {rule.id}_{case.name} in {region}"
                    try:
                        valid = validate_answers(answers, ruleset.questions, where)
                        rec = recommend(valid, ruleset)
                    except AdvisorError as exc:
                        problems.append(f"{where}: {exc}")
                        continue
                    problem = _problem(rec.decisions.get(name), rec, region, ruleset)
                    if problem:
                        problems.append(f"{where}: {problem}")
    return problems + _budget_problems(ruleset)


def _budget_problems(ruleset: RuleSet) -> list[str]:
    """A node-hour decision's API limits must be the catalogue's range for its model type."""
    catalogue = ruleset.catalogue
    assert catalogue is not None
    problems = []
    for decision in ruleset.decisions:
        if decision.sizing != "node_hours":
            continue
        for rule in ruleset.rules[decision.name]:
            limits = (rule.then.get("limits") or {}).get("budget_milli_node_hours")
            found = catalogue.automl_entry(rule.then.get("model_type"))
            kind = rule.then.get("prediction_type")
            if not limits or found is None or kind not in found[1].get("budget", {}):
                continue
            expected = list(found[1]["budget"][kind])
            if list(limits) != expected:
                problems.append(
                    f"catalogue: {rule.id}: limits {list(limits)} but the API takes {expected}"
                    f" for {rule.then.get('model_type')} {kind} ({found[1]['budget_source']})"
                )
    return problems


def _problem(output: Any, rec: Any, region: str, ruleset: RuleSet) -> str | None:
    if not isinstance(output, Mapping) or "sizing" not in output:
        return None  # a rule without a sizing step (not applicable)
    catalogue = ruleset.catalogue
    assert catalogue is not None
    sizing = output["sizing"]
    said = bool(output.get("warnings"))
    if not sizing.get("fits"):
        return None if said else "nothing fits, and the recommendation does not say so"
    offers = [
        o
        for o in catalogue.offers
        if o.machine_type == output.get("machine_type")
        and o.accelerator_type == output.get("accelerator_type")
        and o.accelerator_count == (output.get("accelerator_count") or 0)
        and o.tpu_topology == output.get("tpu_topology")
    ]
    if not offers and output.get("accelerator_type"):
        return f"{output.get('machine_type')} with {output.get('accelerator_type')} is no offer"
    if offers and not any(region in o.regions for o in offers):
        return f"{offers[0].label} is not offered in {region}"
    hourly = output.get("hourly_usd")
    if not isinstance(hourly, (int, float)) or not math.isfinite(hourly) or hourly <= 0:
        return f"price {hourly!r} is not a finite positive number"
    for other in [*rec.decisions.values(), *rec.top.values()]:
        spot = isinstance(other, Mapping) and other.get("scheduling_strategy") == "SPOT"
        if spot and output.get("spot_hourly_usd") is None:
            return "Spot VMs are scheduled where the catalogue offers none"
    return None
