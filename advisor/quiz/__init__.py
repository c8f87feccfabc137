"""The quiz: exam scenarios whose answers the engine computes.

Owns the scenario bank under rules/scenarios (`bank`), solving a scenario and explaining every
option by the rule trace (`solve`), the learner's saved progress (`progress`) and a quiz or exam
session (`session`). It asks through an injected asker and shows through an injected view: the
terminal side lives in the CLI.
"""
