"""Commands defined outside cli.py (wizard, new, quiz, ...), by module name.

Each module named here has `register(subparsers)` that adds its subcommand. Such modules import
only the standard library at module level (heavy imports go inside their handlers), which keeps
`advisor --help` and `advisor recommend` fast.
"""

from __future__ import annotations

COMMAND_MODULES: list[str] = ["advisor.cli_project", "advisor.cli_quiz"]
