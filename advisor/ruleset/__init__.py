"""The rule set: what the files under rules/ mean.

Owns parsing, validating and cross-checking every definition file (questions, decisions, rules
with their cases), the condition and expression languages they are written in, and the on-disk
caches that make loading them cheap. Nothing here evaluates a recommendation: that is the engine,
one layer up. This package imports only the standard library, PyYAML and, when a file changed,
pydantic.
"""

from __future__ import annotations

from functools import lru_cache

from advisor.paths import rules_dir
from advisor.ruleset.rules import RuleSet, load_rules

__all__ = ["RuleSet", "default_ruleset", "load_rules"]


@lru_cache(maxsize=1)
def default_ruleset() -> RuleSet:
    """The rules shipped with the tool (loaded once per process)."""
    return load_rules(rules_dir())
