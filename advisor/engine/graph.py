"""`advisor rules graph`: the decision rules as a Mermaid flowchart (or Graphviz DOT).

One subgraph per decision, its rules in priority order (the first that matches wins), and an edge
from each decision to the decisions whose rules read it.
"""

from __future__ import annotations

from advisor.ruleset.rules import RuleSet, rule_dependencies


def _label(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


def _edges(ruleset: RuleSet) -> list[tuple[str, str]]:
    names = ruleset.decision_names
    edges = []
    for name in names:
        reads = {dep for rule in ruleset.rules[name] for dep in rule_dependencies(rule)}
        edges += [(dep, name) for dep in names if dep in reads and dep != name]
    return edges


def mermaid(ruleset: RuleSet) -> str:
    lines = ["flowchart TD", "  answers([answers])"]
    for decision in ruleset.decisions:
        lines.append(f'  subgraph {decision.name}["{_label(decision.title)}"]')
        lines.append("    direction TB")
        previous = None
        for rule in ruleset.rules[decision.name]:
            node = rule.id.replace("-", "_")
            result = rule.then.get("choice", rule.then.get("tip", ""))
            condition = _label(rule.condition.describe())
            if len(condition) > 90:
                condition = condition[:87] + "..."
            lines.append(f'    {node}["{rule.id}<br/>{condition}<br/>&rArr; {result}"]')
            if previous and decision.kind == "single":
                lines.append(f"    {previous} -. no match .-> {node}")
            previous = node
        lines.append("  end")
    first = ruleset.decisions[0].name
    lines.append(f"  answers --> {first}")
    lines += [f"  {src} --> {dst}" for src, dst in _edges(ruleset)]
    return "\n".join(lines) + "\n"


def mermaid_overview(ruleset: RuleSet) -> str:
    """Decisions only: what each reads, with its rule count (small enough for a README)."""
    lines = ["flowchart LR", "  answers([answers])"]
    for decision in ruleset.decisions:
        count = len(ruleset.rules[decision.name])
        lines.append(f'  {decision.name}["{_label(decision.title)}<br/>{count} rules"]')
    readers = {dst for _, dst in _edges(ruleset)}
    for decision in ruleset.decisions:
        reads_answers = any(
            fact in ruleset.questions.by_id
            for rule in ruleset.rules[decision.name]
            for fact in rule_dependencies(rule)
        )
        if reads_answers or decision.name not in readers:
            lines.append(f"  answers --> {decision.name}")
    lines += [f"  {src} --> {dst}" for src, dst in _edges(ruleset)]
    return "\n".join(lines) + "\n"


def dot(ruleset: RuleSet) -> str:
    lines = ["digraph rules {", "  rankdir=TB; node [shape=box, fontsize=10];"]
    for decision in ruleset.decisions:
        lines.append(f'  subgraph cluster_{decision.name} {{ label="{_label(decision.title)}";')
        for rule in ruleset.rules[decision.name]:
            node = rule.id.replace("-", "_")
            result = rule.then.get("choice", rule.then.get("tip", ""))
            lines.append(f'    {node} [label="{rule.id}\\n=> {result}"];')
        lines.append(f'    {decision.name} [shape=ellipse, label="{decision.name}"];')
        lines.append("  }")
    lines += [f"  {src} -> {dst};" for src, dst in _edges(ruleset)]
    lines.append("}")
    return "\n".join(lines) + "\n"
