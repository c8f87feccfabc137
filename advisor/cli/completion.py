"""`advisor completion bash|zsh|fish`: shell completion scripts generated from the parser.

The parser is walked once: every command path (`rules check`), its options, the values an
option accepts (its `choices`; files for paths; `ID=VALUE` pairs from rules/questions.yaml for
`--set`; rule ids for `rules show`). Each shell gets a small static script over those tables,
so completing never starts Python.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.cli.options import COMPLETE

SHELLS = ("bash", "zsh", "fish")


@dataclass
class Command:
    """One command path of the parser, e.g. ("rules", "check")."""

    path: tuple[str, ...]
    help: str
    subcommands: dict[str, str] = field(default_factory=dict)  # name -> help
    flags: dict[str, str] = field(default_factory=dict)  # options without a value -> help
    options: dict[str, str] = field(default_factory=dict)  # options with a value -> help
    values: dict[str, list[str]] = field(default_factory=dict)  # option -> its values
    files: set[str] = field(default_factory=set)  # options (or "" for positionals) taking a path
    positional: list[str] = field(default_factory=list)  # values of the positional argument


def _kind(action: argparse.Action) -> str | None:
    kind = getattr(action, COMPLETE, None)
    if kind:
        return str(kind)
    if action.type is Path:
        return "file"
    return None


def commands(parser: argparse.ArgumentParser, words: dict[str, list[str]]) -> list[Command]:
    """Every command path under `parser`; `words` gives the values of each completion kind
    (answers: the `ID=VALUE` words of --set, rules: rule ids, decisions, questions)."""
    found: list[Command] = []

    def walk(current: argparse.ArgumentParser, path: tuple[str, ...], help_text: str) -> None:
        command = Command(path, help_text)
        found.append(command)
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help or "" for a in action._choices_actions}
                for name, sub in action.choices.items():
                    command.subcommands[name] = helps.get(name, "")
                    walk(sub, (*path, name), helps.get(name, ""))
                continue
            if action.help == argparse.SUPPRESS:
                continue
            kind = _kind(action)
            if not action.option_strings:  # a positional argument
                if kind in ("file", "dir"):
                    command.files.add("")
                elif kind in words:
                    command.positional = words[kind]
                elif action.choices:
                    command.positional = [str(c) for c in action.choices]
                continue
            for option in action.option_strings:
                help_line = (action.help or "").replace("%(default)s", str(action.default))
                if action.nargs == 0:
                    command.flags[option] = help_line
                    continue
                command.options[option] = help_line
                if kind in ("file", "dir"):
                    command.files.add(option)
                elif kind in words:
                    command.values[option] = words[kind]
                elif action.choices:
                    command.values[option] = [str(c) for c in action.choices]

    walk(parser, (), parser.description or "")
    return found


def completion_words(ruleset: Any) -> dict[str, list[str]]:
    """The values of each completion kind, from the rule set."""
    answers: list[str] = []
    for question in ruleset.questions.questions:
        answers.append(f"{question.id}=")
        if question.type == "choice":
            answers += [f"{question.id}={value}" for value in question.values]
        elif question.type == "bool":
            answers += [f"{question.id}=true", f"{question.id}=false"]
    return {
        "answers": answers,
        "rules": sorted(ruleset.by_id),
        "decisions": list(ruleset.decision_names),
        "questions": [question.id for question in ruleset.questions.questions],
    }


def script(shell: str, parser: argparse.ArgumentParser, words: dict[str, list[str]]) -> str:
    tree = commands(parser, words)
    prog = parser.prog
    if shell == "bash":
        return _bash(prog, tree)
    if shell == "zsh":
        return _zsh(prog, tree)
    return _fish(prog, tree)


def _quote(text: str) -> str:
    """`text` in single quotes for bash, zsh and fish."""
    return "'" + text.replace("'", "'\\''") + "'"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _key(path: tuple[str, ...]) -> str:
    return " ".join(path)


def _walk_cases(tree: list[Command]) -> list[str]:
    """`case "$cmdpath/$w"` arms that step into a subcommand (shared by bash and zsh)."""
    arms = []
    for command in tree:
        for name in command.subcommands:
            new = _key((*command.path, name))
            arms.append(
                f"      {_quote(_key(command.path) + '/' + name)}) cmdpath={_quote(new)} ;;"
            )
    return arms


def _bash(prog: str, tree: list[Command]) -> str:
    func = "_" + prog.replace("-", "_")
    value_arms, word_arms = [], []
    for command in tree:
        key = _key(command.path)
        files = 'COMPREPLY=($(compgen -f -- "$cur")); return'
        for option in sorted(command.files - {""}):
            value_arms.append(f"    {_quote(key + ' ' + option)}) {files} ;;")
        for option, values in command.values.items():
            value_arms.append(
                f"    {_quote(key + ' ' + option)}) words={_quote(' '.join(values))} ;;"
            )
        options = [*command.flags, *command.options]
        current = [*command.subcommands, *command.positional]
        word_arms.append(
            f"        {_quote(key)}) words={_quote(' '.join(current))};"
            f" options={_quote(' '.join(options))};"
            f" files={'1' if '' in command.files else '0'} ;;"
        )
    return "\n".join(
        [
            f"# bash completion for {prog}; generated by `{prog} completion bash`.",
            f'# Install: {prog} completion bash > "${{BASH_COMPLETION_USER_DIR:-$HOME/.local/share/'
            f'bash-completion}}/completions/{prog}"  (or eval "$({prog} completion bash)" in'
            " ~/.bashrc)",
            f"{func}() {{",
            '  local line="${COMP_LINE:0:COMP_POINT}" cur="" prev="" cmdpath="" w',
            '  local words="" options="" files=0',
            "  local -a parts",
            '  read -ra parts <<< "$line"',
            '  if [[ "$line" != *[[:space:]] ]]; then',
            '    cur="${parts[${#parts[@]}-1]}"',
            '    unset "parts[${#parts[@]}-1]"',
            "  fi",
            '  for w in "${parts[@]:1}"; do',
            '    case "$cmdpath/$w" in',
            *_walk_cases(tree),
            "    esac",
            '    prev="$w"',
            "  done",
            '  case "$cmdpath $prev" in',
            *value_arms,
            "    *)",
            '      case "$cmdpath" in',
            *word_arms,
            "      esac",
            '      if [[ "$cur" == -* || -z "$words" ]]; then words="$options"',
            '      elif [[ $files == 1 ]]; then COMPREPLY=($(compgen -f -- "$cur")); return',
            "      fi ;;",
            "  esac",
            '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
            "  # readline completes after an '=' (a word break): offer what follows it",
            '  if [[ "$cur" == *=* ]]; then COMPREPLY=("${COMPREPLY[@]#*=}"); fi',
            '  if [[ ${#COMPREPLY[@]} == 1 && "${COMPREPLY[0]}" == *= ]]; then',
            "    compopt -o nospace 2>/dev/null",
            "  fi",
            "  return 0",
            "}",
            f"complete -o default -F {func} {prog}",
            "",
        ]
    )


def _zsh(prog: str, tree: list[Command]) -> str:
    func = "_" + prog.replace("-", "_")
    value_arms, word_arms = [], []
    for command in tree:
        key = _key(command.path)
        for option in sorted(command.files - {""}):
            value_arms.append(f"    {_quote(key + ' ' + option)}) _files; return ;;")
        for option, values in command.values.items():
            value_arms.append(
                f"    {_quote(key + ' ' + option)}) values=({' '.join(map(_quote, values))}) ;;"
            )
        described = [
            f"{name}:{text}" for name, text in command.subcommands.items()
        ] + command.positional
        options = [f"{name}:{text}" for name, text in {**command.flags, **command.options}.items()]
        word_arms.append(
            f"        {_quote(key)}) values=({' '.join(map(_quote, described))});"
            f" options=({' '.join(map(_quote, options))});"
            f" files={'1' if '' in command.files else '0'} ;;"
        )
    return "\n".join(
        [
            f"#compdef {prog}",
            f"# zsh completion for {prog}; generated by `{prog} completion zsh`.",
            f'# Install: {prog} completion zsh > "${{fpath[1]}}/_{prog}"  (or, after compinit,'
            f' eval "$({prog} completion zsh)" in ~/.zshrc)',
            f"{func}() {{",
            '  local cmdpath="" prev="" w files=0',
            "  local -a values options",
            '  for w in "${(@)words[2,CURRENT-1]}"; do',
            '    case "$cmdpath/$w" in',
            *_walk_cases(tree),
            "    esac",
            '    prev="$w"',
            "  done",
            '  case "$cmdpath $prev" in',
            *value_arms,
            "    *)",
            '      case "$cmdpath" in',
            *word_arms,
            "      esac",
            '      if [[ "${words[CURRENT]}" == -* ]]; then',
            "        _describe -t options option options; return",
            "      fi",
            "      if [[ $files == 1 ]]; then _files; return; fi",
            "      _describe -t commands command values; return ;;",
            "  esac",
            "  local -a whole open",
            "  whole=(${values:#*=})",
            "  open=(${(M)values:#*=})",
            "  compadd -a whole",
            "  compadd -S '' -a open",
            "}",
            f'if [[ "$funcstack[1]" == "{func}" ]]; then',
            f'  {func} "$@"',
            "else",
            f"  compdef {func} {prog}",
            "fi",
            "",
        ]
    )


def _fish(prog: str, tree: list[Command]) -> str:
    lines = [
        f"# fish completion for {prog}; generated by `{prog} completion fish`.",
        f"# Install: {prog} completion fish > ~/.config/fish/completions/{prog}.fish",
        f"complete -c {prog} -f",
    ]
    by_path = {command.path: command for command in tree}
    for command in tree:
        condition = _fish_condition(command.path, by_path)
        where = f"-n {_fish_quote(condition)}" if condition else ""
        for name, text in command.subcommands.items():
            lines.append(f"complete -c {prog} {where} -a {name} -d {_fish_quote(text)}".strip())
        for value in command.positional:
            lines.append(f"complete -c {prog} {where} -a {_fish_quote(value)}")
        if "" in command.files:
            lines.append(f"complete -c {prog} {where} -F")
        for option, text in {**command.flags, **command.options}.items():
            flag = f"-l {option[2:]}" if option.startswith("--") else f"-s {option[1:]}"
            extra = ""
            if option in command.files:
                extra = " -r -F"
            elif option in command.values:
                extra = f" -x -a {_fish_quote(' '.join(command.values[option]))}"
            elif option in command.options:
                extra = " -x"
            lines.append(f"complete -c {prog} {where} {flag}{extra} -d {_fish_quote(text)}")
    return "\n".join(lines) + "\n"


def _fish_condition(path: tuple[str, ...], by_path: dict[tuple[str, ...], Command]) -> str:
    """True when the command line is at `path` (and not in one of its subcommands)."""
    parts = []
    if not path:
        parts.append("__fish_use_subcommand")
    else:
        parts += [f"__fish_seen_subcommand_from {name}" for name in path]
    subcommands = by_path[path].subcommands
    if path and subcommands:
        parts.append(f"not __fish_seen_subcommand_from {' '.join(subcommands)}")
    return "; and ".join(parts)
