"""`advisor update`: re-render a project from its answers and merge it three-way into the folder.

The base of the merge is the snapshot of the last generation stored in the project
(`.advisor/base.json`), not a re-render of the old answers: a re-render needs the old version of
the tool and its templates, which an upgraded tool no longer has (copier needs the template's git
history for the same reason). A project without a snapshot falls back to re-rendering its stored
answers with this version of the tool. Per file:

- unchanged by you: takes the new version (or is removed when the template dropped it);
- changed by you only, or changed the same way: yours is kept;
- changed on both sides: merged line by line; overlapping changes get inline conflict markers;
- deleted by you: stays deleted, even when the template changed it;
- new in the template: added; already there with other content: merged against an empty base.

Nothing is written until every file is merged; then every change is applied all or nothing
(advisor.project.staging), under a lock on the project folder so two runs cannot interleave.
Paths come from the snapshot, which travels with the project and may have been tampered with:
each is confined to the project (no absolute path, no `..`, no symbolic link leading out).
A file's line endings are the user's: a CRLF file is merged as lines and written back CRLF.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.answers import ANSWERS_FILE
from advisor.errors import AdvisorError
from advisor.fileio import confined, run_lock
from advisor.project.generate import (
    BASE_FILE,
    Project,
    build_project,
    read_base_snapshot,
)
from advisor.project.merge import merge3
from advisor.project.staging import apply_changes, recover


@dataclass(frozen=True)
class FileChange:
    path: str
    action: str  # one of ACTIONS
    conflicts: int = 0
    note: str = ""


ACTIONS = {
    "added": "new in the template",
    "updated": "template change applied",
    "merged": "your edits and the template's change merged",
    "conflict": "overlapping changes: resolve the conflict markers",
    "kept": "your version kept",
    "kept-deleted": "deleted by you: stays deleted",
    "removed": "dropped by the template",
    "unchanged": "no change",
}


@dataclass
class UpdateResult:
    project_dir: Path
    project: Project
    changes: list[FileChange]
    writes: dict[str, str | None] = field(default_factory=dict)  # None: remove the file
    written: bool = False
    base_source: str = "snapshot"  # or "re-rendered"

    @property
    def conflicts(self) -> list[FileChange]:
        return [c for c in self.changes if c.action == "conflict"]


def _read_text(path: Path) -> str | None:
    """The file's text with its line endings as they are, or None when there is none."""
    if not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise AdvisorError(
            f"{path}: not a text file; move it aside and run the update again"
        ) from None


def _is_crlf(text: str | None) -> bool:
    return text is not None and "\r\n" in text and text.count("\n") == text.count("\r\n")


def _merge_file(
    rel: str, base: str | None, yours: str | None, theirs: str | None
) -> tuple[FileChange, str | None, bool]:
    """(change, new text or None to remove, whether to write)."""
    if base is None:
        if theirs is None:
            return FileChange(rel, "kept"), yours, False
        if yours is None:
            return FileChange(rel, "added"), theirs, True
        if yours == theirs:
            return FileChange(rel, "unchanged"), yours, False
        result = merge3("", yours, theirs)
        action = "conflict" if result.conflicts else "merged"
        note = "you created this file and the template now makes it too"
        return FileChange(rel, action, result.conflicts, note), result.text, True
    if yours is None:
        if theirs in (None, base):  # nothing new to bring back
            return FileChange(rel, "unchanged"), None, False
        return (
            FileChange(rel, "kept-deleted", note="the template changed it; not restored"),
            None,
            False,
        )
    if theirs is None:
        if yours == base:
            return FileChange(rel, "removed"), None, True
        return (
            FileChange(rel, "kept", note="the template dropped it; you had edited it"),
            yours,
            False,
        )
    if theirs == base or yours == theirs:  # the template brings nothing new to this file
        return FileChange(rel, "unchanged"), yours, False
    if yours == base:
        return FileChange(rel, "updated"), theirs, True
    result = merge3(base, yours, theirs)
    action = "conflict" if result.conflicts else "merged"
    return FileChange(rel, action, result.conflicts), result.text, True


def plan_update(project_dir: Path, overrides: Sequence[str] = ()) -> UpdateResult:
    """Everything `update` would do, computed in memory."""
    from advisor.answers import given_answers, read_project_answers
    from advisor.engine import default_ruleset

    project_dir = Path(project_dir)
    answers_path = project_dir / ANSWERS_FILE
    if not answers_path.is_file():
        raise AdvisorError(
            f"{answers_path}: not found; `advisor update` works in a project made by `advisor new`"
        )
    stored = read_project_answers(project_dir)
    questions = default_ruleset().questions
    given = given_answers(questions, answers_path, overrides, stored=stored)
    new = build_project(given, str(answers_path))

    base = read_base_snapshot(project_dir)
    base_source = "snapshot"
    if base is None:
        base = build_project(stored, str(answers_path)).generated
        base_source = "re-rendered"
    theirs_files = new.generated
    changes: list[FileChange] = []
    writes: dict[str, str | None] = {}
    for rel in sorted(set(base) | set(theirs_files)):
        yours = _read_text(confined(project_dir, rel, str(project_dir / BASE_FILE)))
        crlf = _is_crlf(yours)
        if crlf:
            yours = yours.replace("\r\n", "\n") if yours else yours
        change, text, write = _merge_file(rel, base.get(rel), yours, theirs_files.get(rel))
        changes.append(change)
        if write:
            writes[rel] = text.replace("\n", "\r\n") if crlf and text else text
    record = new.files[ANSWERS_FILE]
    current = _read_text(project_dir / ANSWERS_FILE) or ""
    writes[ANSWERS_FILE] = keep_comments(current, record, new.answers)
    writes[BASE_FILE] = new.files[BASE_FILE]
    return UpdateResult(project_dir, new, changes, writes, base_source=base_source)


_KEY_LINE = re.compile(r"^(  [a-z][a-z0-9_]*):(.*?)(\s+#.*)?$")


def keep_comments(current: str, record: str, answers: Mapping[str, Any]) -> str:
    """The new `.advisor-answers.yml` with the comments the user wrote in the current one.

    A comment line above an answer stays above it, a comment after an answer's value stays
    after it, and comment lines at the end stay at the end. The result must read back as
    exactly the new answers; if it would not, the record is written without the comments.
    """
    import yaml

    header = {line for line in record.splitlines() if line.startswith("#")}
    above: dict[str, list[str]] = {}
    after: dict[str, str] = {}
    pending: list[str] = []
    for line in current.replace("\r\n", "\n").splitlines():
        if line.lstrip().startswith("#"):
            if line not in header:
                pending.append(line)
            continue
        match = _KEY_LINE.match(line)
        if match:
            if pending:
                above[match.group(1)] = pending
            if match.group(3):
                after[match.group(1)] = match.group(3)
        pending = [] if line.strip() else pending
    if not (above or after or pending):
        return record
    lines = record.splitlines()
    out: list[str] = []
    for index, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        key = match.group(1) if match else None
        out.extend(above.get(key or "", []))
        follows = lines[index + 1] if index + 1 < len(lines) else ""
        continued = follows.startswith("    ") and not follows.lstrip().startswith("- ")
        out.append(line + after[key] if key in after and not continued else line)
    out.extend(pending)
    text = "\n".join(out) + "\n"
    try:
        if yaml.safe_load(text)["answers"] == dict(answers):
            return text
    except (yaml.YAMLError, TypeError, KeyError):
        pass
    return record


def apply_update(result: UpdateResult) -> None:
    apply_changes(result.project_dir, result.writes)
    result.written = True


def update_project(
    project_dir: Path, overrides: Sequence[str] = (), *, pretend: bool = False
) -> UpdateResult:
    if pretend:
        return plan_update(project_dir, overrides)
    if not Path(project_dir).is_dir():
        return plan_update(project_dir, overrides)  # which says what is missing
    with run_lock(Path(project_dir)):
        recover(Path(project_dir))  # a switch-over an interrupted run began
        result = plan_update(project_dir, overrides)
        apply_update(result)
    return result


def summary(result: UpdateResult) -> dict[str, Any]:
    """Counts of each action, for messages and JSON."""
    counts: dict[str, int] = {}
    for change in result.changes:
        counts[change.action] = counts.get(change.action, 0) + 1
    return counts


def describe(change: FileChange) -> str:
    text = ACTIONS[change.action]
    if change.conflicts:
        text += f" ({change.conflicts} region{'s' if change.conflicts > 1 else ''})"
    if change.note:
        text += f"; {change.note}"
    return text


def changed(changes: Sequence[FileChange]) -> list[FileChange]:
    return [c for c in changes if c.action != "unchanged"]
