"""The engine: a rule set and answers in, a Recommendation out.

Owns evaluating the rules in dependency order (`evaluate`), the answer space the rules split
(`domains`: every fact's values, threshold points, the facts a rule reads), the proofs over that
space (`check`: exactly one winner everywhere, every rule reachable), what-if variations, and
the rule reference and graph written from a rule set. It reads the rule set below it and knows
nothing of projects, the quiz or the terminal.
"""

from __future__ import annotations

from advisor.engine.evaluate import Recommendation, recommend, recommend_raw
from advisor.ruleset import default_ruleset

__all__ = ["Recommendation", "default_ruleset", "recommend", "recommend_raw"]
