"""YAML reading with the C loader when present (start-up speed), bounded, with clean errors.

Limits, checked before any value is used (so a hostile file costs little time or memory):

- the file is a regular file of at most `MAX_INPUT_BYTES` (advisor.fileio);
- aliases are shared, never copied, by the loader; a document whose values, aliases
  counted as the copies they stand for, would make more than `MAX_NODES` values is refused
  (a "billion laughs" bomb), and so is one that refers to itself;
- an integer longer than Python's digit limit, or nesting deeper than the parser allows,
  is refused with a message rather than a traceback;
- a mapping that gives the same key twice is refused (YAML says keys are unique; PyYAML
  would keep the last one silently).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from advisor.fileio import read_text_bounded

_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # SafeLoader: no libyaml


class _Loader(_Base):  # type: ignore[misc]
    """The safe loader, refusing a mapping that gives one key twice (the last would win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key_node.value!r}", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


# The largest shipped file (the quiz bank's) has a few thousand values; an answers file, tens.
MAX_NODES = 200_000


class YamlLimitError(ValueError):
    """A document refused for its size or shape, not its syntax."""


def load_yaml_text(text: str) -> Any:
    """Parse YAML; yaml.YAMLError for bad syntax, YamlLimitError for a document over a limit."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        raise
    except ValueError:  # PyYAML's int() on a number longer than Python allows
        raise YamlLimitError("a number too large (over Python's 4300 digits)") from None
    except RecursionError:
        raise YamlLimitError("nested too deeply") from None
    check_size(data)
    return data


def check_size(data: Any, limit: int = MAX_NODES) -> None:
    """YamlLimitError when `data`, every alias expanded, has more than `limit` values.

    Counted without expanding anything: a shared list is sized once and its size reused.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (list, dict)):
            continue
        ident = id(node)
        children = list(node.values()) + list(node) if isinstance(node, dict) else node
        if done:
            on_path.discard(ident)
            total = 1 + sum(sizes.get(id(c), 1) for c in children)
            sizes[ident] = total
            if total > limit:
                raise YamlLimitError(
                    f"too many values once its aliases are expanded (more than {limit})"
                )
            continue
        if ident in sizes:
            continue
        if ident in on_path:
            raise YamlLimitError("an alias refers to the value that contains it")
        on_path.add(ident)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def load_yaml_file(path: Path, error: type[Exception]) -> Any:
    """Parse a YAML (or JSON) file, raising `error` with the path on any failure."""
    text = read_text_bounded(path, error)
    try:
        return load_yaml_text(text)
    except YamlLimitError as exc:
        raise error(f"{path}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}: not valid YAML or JSON{where}: {problem}") from None
