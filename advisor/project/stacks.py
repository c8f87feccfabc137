"""Stacks as layered manifests: which templates a recommendation gets, and from which folders.

`templates/stacks/<name>/stack.yaml` is a stack's manifest: its `when` (a condition over answers
and decision choices, like a rule's; the stacks' conditions are disjoint, so order does not
matter), the layers it is built from, its images, Docker recipe, example and template variables.
A layer is a real folder, `templates/layers/<layer>/`, holding files at the paths they take in
the project, and an optional `layer.yaml` with derived facts and file conditions. A project is
its layers overlaid in order, then the stack's own folder: on the same path the later one wins.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import AdvisorError, BadRuleFile
from advisor.paths import templates_dir
from advisor.ruleset.conditions import Condition, ConditionError, compile_condition
from advisor.ruleset.yamlcache import YamlCache
from advisor.ruleset.yamlio import load_yaml_file

MANIFEST = "stack.yaml"
LAYER_FILE = "layer.yaml"
# The tunable hyperparameters of a trainer, as data: `common` parameters, then the first of the
# `catalogues` whose `when` holds (over answers, decision choices and derived facts).
CATALOGUE_FILE = "hyperparameters.yaml"


@dataclass(frozen=True)
class Layer:
    """A folder of templates and what it adds to the context."""

    name: str
    folder: Path
    facts: Mapping[str, Any] = field(default_factory=dict)
    # glob of a template path -> the derived fact that must hold for it to be written; it
    # applies to this folder's files and to those earlier layers brought
    only_if: Mapping[str, str] = field(default_factory=dict)

    catalogue: Mapping[str, Any] = field(default_factory=dict)

    def writes(self, rel: str, facts: Mapping[str, Any]) -> bool:
        return all(facts[fact] for glob, fact in self.only_if.items() if fnmatch.fnmatch(rel, glob))


@dataclass(frozen=True)
class Stack:
    """One manifest: `layers` are overlaid in order, then the stack's own folder (`own`)."""

    name: str
    description: str
    when: Condition
    layers: tuple[Layer, ...]
    own: Layer
    images: Mapping[str, Any]
    docker: Mapping[str, Any]
    example: str | None
    variables: Mapping[str, Any]
    next_step: str = ""  # what `advisor new` prints after writing the project (make targets)

    @property
    def overlay(self) -> tuple[Layer, ...]:
        """Every folder of the project, first to last (the last one wins on a shared path)."""
        return (*self.layers, self.own)


_STACK_KEYS = {
    "description",
    "when",
    "layers",
    "images",
    "docker",
    "example",
    "variables",
    "facts",
    "only_if",
    "next_step",
}
_LAYER_KEYS = {"facts", "only_if"}


def _mapping(value: Any, where: str, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadRuleFile(f"{where}: '{what}' must be a mapping, got {type(value).__name__}")
    return value


def _unknown_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise BadRuleFile(
            f"{where}: unknown field '{extra[0]}' (allowed: {', '.join(sorted(allowed))})"
        )


def _only_if(value: Any, where: str) -> dict[str, str]:
    table = _mapping(value, where, "only_if")
    for glob, fact in table.items():
        if not isinstance(fact, str):
            raise BadRuleFile(f"{where}: only_if '{glob}' must name a derived fact")
    return dict(table)


def _read(path: Path, cache: YamlCache | None) -> Any:
    return cache.load(path, BadRuleFile) if cache else load_yaml_file(path, BadRuleFile)


def load_layer(name: str, root: Path, cache: YamlCache | None = None) -> Layer:
    folder = root / "layers" / name
    if not folder.is_dir():
        raise BadRuleFile(f"{folder}: no such layer (a stack lists '{name}' in its layers)")
    path = folder / LAYER_FILE
    data: Mapping[str, Any] = {}
    if path.is_file():
        data = _mapping(_read(path, cache), str(path), "layer")
        _unknown_keys(data, _LAYER_KEYS, str(path))
    where = str(path)
    facts = _mapping(data.get("facts"), where, "facts")
    return Layer(
        name, folder, facts, _only_if(data.get("only_if"), where), load_catalogue(folder, cache)
    )


def load_catalogue(folder: Path, cache: YamlCache | None = None) -> Mapping[str, Any]:
    """The folder's hyperparameters.yaml, checked; {} when it has none."""
    path = folder / CATALOGUE_FILE
    if not path.is_file():
        return {}
    where = str(path)
    data = _mapping(_read(path, cache), where, "hyperparameters")
    _unknown_keys(data, {"common", "catalogues"}, where)
    entries = data.get("catalogues")
    if not isinstance(entries, list) or not entries:
        raise BadRuleFile(f"{where}: 'catalogues' must be a non-empty list")
    for index, entry in enumerate([{"parameters": data.get("common") or []}, *entries]):
        at = f"{where}: catalogues[{index - 1}]" if index else f"{where}: common"
        params = _mapping(entry, at, "catalogue").get("parameters")
        if not isinstance(params, list) or not all(
            isinstance(p, Mapping) and isinstance(p.get("id"), str) for p in params
        ):
            raise BadRuleFile(f"{at}: 'parameters' must be a list of mappings with an 'id'")
        if index:
            try:
                compile_condition(entry.get("when"))
            except ConditionError as exc:
                raise BadRuleFile(f"{at}: when: {exc}") from None
    return data


def pick_catalogue(catalogue: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """The first catalogue whose `when` holds, with the common parameters first."""
    for entry in catalogue["catalogues"]:
        if compile_condition(entry.get("when"))(facts):
            fields = {k: v for k, v in entry.items() if k not in ("when", "parameters")}
            return {
                **fields,
                "parameters": [*(catalogue.get("common") or []), *entry["parameters"]],
            }
    raise BadRuleFile("hyperparameters.yaml: no catalogue fits this recommendation")


def load_stack(folder: Path, root: Path, cache: YamlCache | None = None) -> Stack:
    path = folder / MANIFEST
    where = str(path)
    data = _mapping(_read(path, cache), where, "stack")
    _unknown_keys(data, _STACK_KEYS, where)
    try:
        when = compile_condition(data.get("when"))
    except ConditionError as exc:
        raise BadRuleFile(f"{where}: when: {exc}") from None
    names = data.get("layers") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BadRuleFile(f"{where}: 'layers' must be a list of folder names under layers/")
    own = Layer(
        folder.name,
        folder,
        _mapping(data.get("facts"), where, "facts"),
        _only_if(data.get("only_if"), where),
        load_catalogue(folder, cache),
    )
    example = data.get("example")
    if example is not None and not isinstance(example, str):
        raise BadRuleFile(f"{where}: 'example' must be a path under examples/")
    next_step = data.get("next_step", "")
    if not isinstance(next_step, str):
        raise BadRuleFile(f"{where}: 'next_step' must be a line of text (the commands to run)")
    return Stack(
        name=folder.name,
        description=str(data.get("description", "")),
        when=when,
        layers=tuple(load_layer(name, root, cache) for name in names),
        own=own,
        images=_mapping(data.get("images"), where, "images"),
        docker=_mapping(data.get("docker"), where, "docker"),
        example=example,
        variables=_mapping(data.get("variables"), where, "variables"),
        next_step=next_step,
    )


def load_stacks(root: Path | None = None) -> list[Stack]:
    """Every stack under templates/stacks/, by name (parsed YAML cached on disk, as rules are)."""
    root = root or templates_dir()
    folder = root / "stacks"
    if not folder.is_dir():
        raise BadRuleFile(f"{folder}: no stacks folder")
    cache = YamlCache(root)
    stacks = [
        load_stack(sub, root, cache)
        for sub in sorted(folder.iterdir())
        if (sub / MANIFEST).is_file()
    ]
    cache.save()
    return stacks


def stack_facts(rec: Any) -> dict[str, Any]:
    """What a stack's `when` reads: the answers and every decision's choice."""
    return {**rec.answers, **{name: out["choice"] for name, out in rec.decisions.items()}}


def matching_stacks(facts: Mapping[str, Any], stacks: list[Stack]) -> list[Stack]:
    return [stack for stack in stacks if stack.when(facts)]


def select_stack_manifest(rec: Any, root: Path | None = None) -> Stack:
    """The one stack whose `when` holds over the answers and the decisions' choices."""
    matched = matching_stacks(stack_facts(rec), load_stacks(root))
    if len(matched) != 1:
        names = ", ".join(s.name for s in matched) or "none"
        raise AdvisorError(
            f"template error: a recommendation must select exactly one stack, got {names}"
            " (run `advisor rules check`)",
            exit_code=1,
        )
    return matched[0]


def select_stack(rec: Any, root: Path | None = None) -> str:
    return select_stack_manifest(rec, root).name
