"""From answers to a project on disk: render, format, check, then move into place atomically.

The pipeline: validate the answers, run the engine, render the stack's templates
(advisor.project.render), format every generated Python file with black (in process) and parse it,
parse the generated JSON and YAML files, refuse any Jinja left in the output, add
`.advisor-answers.yml` (the answers, the tool and rules versions, every decision with its rule
and reason) and `.advisor/base.json` (the generated files, the base of `advisor update`'s
three-way merge). The files are written into a temporary folder beside the target, which is
renamed into place at the end: an interrupted run leaves no half-written project.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from advisor import __version__
from advisor.answers import ANSWERS_FILE
from advisor.engine import Recommendation, default_ruleset, recommend
from advisor.errors import AdvisorError, TemplateBug
from advisor.paths import rules_dir
from advisor.project import locks
from advisor.ruleset.questions import validate_answers

BASE_FILE = ".advisor/base.json"
# Files the tool owns outright: regenerated on every run, never merged.
TOOL_FILES = (ANSWERS_FILE, BASE_FILE)
_LEFTOVERS = ("{{", "{%")


@dataclass
class Project:
    """A rendered project in memory: relative path -> text, plus how it was made."""

    answers: dict[str, Any]
    recommendation: Recommendation
    stack: str
    files: dict[str, str]  # every file to write, the tool's own files included

    @property
    def generated(self) -> dict[str, str]:
        """The files that come from the templates (what `advisor update` merges)."""
        return {rel: text for rel, text in self.files.items() if rel not in TOOL_FILES}


@dataclass
class GenerateResult:
    project: Project
    output: Path
    written: bool  # False for --pretend
    diff: str | None = None  # the unified diff against disk, for --pretend --diff


# ---- versions ----


@lru_cache(maxsize=4)
def rules_version(root: Path | None = None) -> str:
    """A short content hash of the rules folder, so a project records which rules made it."""
    root = root or rules_dir()
    digest = hashlib.sha256()
    # The quiz bank (scenarios/) does not change what a project is; leave it out of the hash.
    skip = {"__pycache__", "scenarios"}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not skip & set(p.parts)):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


# ---- building the project in memory ----


def build_project(raw_answers: Mapping[str, Any], origin: str = "answers") -> Project:
    """Validate, recommend, render, format and check; nothing is written."""
    from advisor.project.render import render_project, select_stack

    ruleset = default_ruleset()
    answers = validate_answers(dict(raw_answers), ruleset.questions, origin)
    rec = recommend(answers, ruleset)
    stack = select_stack(rec)
    rendered = render_project(rec)
    files = {rel: postprocess(rel, text) for rel, text in rendered.items()}
    check_leftovers(files, answers)
    if "pyproject.toml" in files:  # a lock resolved ahead of time for exactly these pins
        lock = locks.lock_for(files["pyproject.toml"])
        if lock is not None:
            files[locks.LOCK_FILE] = lock
    for tool_file in TOOL_FILES:
        if tool_file in files:
            raise TemplateBug(f"template error: the stack '{stack}' must not render {tool_file}")
    project = Project(answers, rec, stack, files)
    files[ANSWERS_FILE] = answers_file_text(project)
    files[BASE_FILE] = base_snapshot_text(project.generated)
    return project


def postprocess(rel: str, text: str) -> str:
    """Format Python with black and check that Python, JSON and YAML files parse."""
    if rel.endswith(".py"):
        text = format_python(rel, text)
    elif rel.endswith(".json"):
        try:
            json.loads(text)
        except ValueError as exc:
            raise TemplateBug(
                f"generated {rel} is not valid JSON ({exc}): a template bug"
            ) from None
    elif rel.endswith((".yml", ".yaml")):
        import yaml

        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = str(exc).splitlines()[0]
            raise TemplateBug(
                f"generated {rel} is not valid YAML ({problem}): a template bug"
            ) from None
    return text


def format_python(rel: str, text: str) -> str:
    """black, as a library (line length 100, like the project's own code), then a parse check."""
    try:
        ast.parse(text, filename=rel)
    except SyntaxError as exc:
        raise TemplateBug(
            f"generated {rel} is not valid Python (line {exc.lineno}: {exc.msg}): a template bug"
        ) from None
    try:
        formatted = _black(text)
    except Exception as exc:  # black raises several types; any of them is a template bug
        raise TemplateBug(f"generated {rel} cannot be formatted by black: {exc}") from None
    ast.parse(formatted, filename=rel)
    return formatted


@lru_cache(maxsize=512)
def _black(text: str) -> str:
    # Cached by content, in memory and on disk: `update`, `--pretend --diff` and re-generation
    # format the same text again, and black (about 0.1 s a file, plus its import) dominates them.
    # The disk entry is sealed (advisor.usercache): its text is copied into generated files, so
    # one nobody but this user wrote, that parses, is the only one used; anything else is a miss.
    from advisor import usercache

    key = hashlib.sha256(f"{_black_identity()} 100 py311\0{text}".encode()).hexdigest()
    folder = usercache.cache_dir("black")
    cached = usercache.read_sealed(folder, f"{key}.py")
    if cached is not None:
        try:
            formatted = cached.decode("utf-8")
            ast.parse(formatted)
            return formatted
        except (UnicodeDecodeError, SyntaxError, ValueError):
            pass  # a corrupt entry: format again and overwrite it
    import black
    from black.mode import TargetVersion

    mode = black.Mode(line_length=100, target_versions={TargetVersion.PY311})
    formatted = black.format_str(text, mode=mode)
    usercache.write_sealed(folder, f"{key}.py", formatted.encode("utf-8"))
    return formatted


@lru_cache(maxsize=1)
def _black_identity() -> str:
    """Which black is installed, without importing it or reading package metadata (both slow).

    Its module file's path, size and mtime change whenever black is upgraded or reinstalled.
    """
    spec = importlib.util.find_spec("black")
    origin = spec.origin if spec and spec.origin else ""
    try:
        stat = os.stat(origin)
    except OSError:
        return f"black {origin}"
    return f"black {origin} {stat.st_size} {stat.st_mtime_ns}"


def find_leftovers(files: Mapping[str, str]) -> tuple[str, str, int] | None:
    """The first Jinja marker in the output: (file, marker, line), or None.

    `${{` is a GitHub Actions expression, not Jinja, so it is not a marker.
    """
    for rel, text in files.items():
        text = text.replace("${{", "$")
        for marker in _LEFTOVERS:
            if marker in text:
                line = next(i for i, ln in enumerate(text.splitlines(), 1) if marker in ln)
                return rel, marker, line
    return None


def check_leftovers(files: Mapping[str, str], answers: Mapping[str, Any]) -> None:
    """No Jinja syntax may survive rendering; a user's own string may contain it verbatim.

    When the output has a marker, the project is rendered again with every free-text answer
    replaced by its (plain) default: a marker that survives that comes from a template, not
    from the user, whatever escaping the templates applied to the user's string.
    """
    from advisor.project.render import render_project

    if find_leftovers(files) is None:
        return
    ruleset = default_ruleset()
    plain = dict(answers)
    for question in ruleset.questions.questions:
        if question.type == "text":
            plain[question.id] = question.default
    hit = find_leftovers(render_project(recommend(plain, ruleset)))
    if hit is not None:
        rel, marker, line = hit
        raise TemplateBug(f"generated {rel}: '{marker}' left over at line {line}: a template bug")


def answers_file_text(project: Project) -> str:
    """`.advisor-answers.yml`: what made the project and why it is what it is."""
    import yaml

    rec = project.recommendation.to_json()
    data = {
        "advisor_version": __version__,
        "rules_version": rules_version(),
        "stack": project.stack,
        "answers": project.answers,
        "decisions": rec["decisions"],
        **{key: value for key, value in rec.items() if key not in ("decisions", "trace")},
    }
    header = (
        "# Written by `advisor new`; read by `advisor update`, which re-renders the project from\n"
        "# these answers (change them here or with --set ID=VALUE) and merges your edits.\n"
    )
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if yaml.safe_load(body)["answers"] != project.answers:  # a YAML round trip must be exact
        raise AdvisorError("the answers cannot be written to YAML exactly")
    return header + body


def base_snapshot_text(files: Mapping[str, str]) -> str:
    """The generated files as JSON: the base of the next `advisor update`'s three-way merge."""
    data = {"advisor_version": __version__, "files": dict(sorted(files.items()))}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def read_base_snapshot(project_dir: Path) -> dict[str, str] | None:
    """The files of the last generation, or None when the project has no snapshot.

    The snapshot travels with the project, so it is read as untrusted: bounded in size, and
    every path in it must be a plain relative path (no absolute path, no `..`).
    """
    from advisor.fileio import check_relative, read_text_bounded

    path = project_dir / BASE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(read_text_bounded(path, AdvisorError, limit=50_000_000))
        files = data["files"]
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise ValueError("'files' must map paths to text")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        detail = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise AdvisorError(f"{path}: not a base snapshot written by advisor: {detail}") from None
    for rel in files:
        check_relative(rel, str(path))
    return files


# ---- presenting a plan ----


def file_tree(root_name: str, paths: list[str]) -> str:
    """An indented tree of relative paths, like `tree` prints it."""
    tree: dict[str, Any] = {}
    for rel in sorted(paths):
        node = tree
        for part in rel.split("/"):
            node = node.setdefault(part, {})
    lines = [root_name.rstrip("/") + "/"]

    def walk(node: dict[str, Any], prefix: str) -> None:
        items = sorted(node.items(), key=lambda kv: (not kv[1], kv[0]))  # folders first
        for index, (name, child) in enumerate(items):
            last = index == len(items) - 1
            lines.append(prefix + ("└── " if last else "├── ") + name + ("/" if child else ""))
            walk(child, prefix + ("    " if last else "│   "))

    walk(tree, "")
    return "\n".join(lines) + "\n"


def diff_against_disk(files: Mapping[str, str], output: Path) -> str:
    """A unified diff from what is on disk under `output` to the files that would be written."""
    chunks: list[str] = []
    for rel in sorted(files):
        target = output / rel
        old = ""
        exists = target.is_file()
        if exists:
            try:
                old = target.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                chunks.append(f"Binary file {rel} differs\n")
                continue
        new = files[rel]
        if exists and old == new:
            continue
        diff = difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{rel}" if exists else "/dev/null",
            tofile=f"b/{rel}",
        )
        for line in diff:
            chunks.append(
                line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            )
    return "".join(chunks)


# ---- writing ----


def write_file(path: Path, text: str) -> None:
    """Write one file (a seam for tests that interrupt a write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def check_output(output: Path) -> Path:
    """`output` as an absolute path, or AdvisorError when no project can be written there."""
    output = Path(os.path.abspath(output))
    if output.is_symlink() and not output.exists():
        raise AdvisorError(f"{output}: is a symbolic link to a missing folder")
    if output.exists() and not output.is_dir():
        raise AdvisorError(f"{output}: exists and is not a folder")
    for parent in output.parents:
        if parent.exists() and not parent.is_dir():
            raise AdvisorError(f"{parent}: is a file; --output needs a folder there")
    return output


def write_tree(files: Mapping[str, str], output: Path, *, force: bool = False) -> None:
    """Write `files` under `output`, all or nothing.

    A missing target is written as a temporary folder beside it, renamed into place at the
    end. An existing folder (empty, or not empty with `force`) is kept, with its mode and
    owner, and changed through advisor.project.staging: every file staged, then switched over
    in one step that a later run finishes if it is cut short.
    """
    from advisor.fileio import current_umask, run_lock
    from advisor.project import staging

    output = check_output(output)
    if output.is_dir():
        with run_lock(output):
            staging.recover(output)
            if any(output.iterdir()) and not force:
                raise AdvisorError(
                    f"{output}: the folder is not empty; choose another --output, or pass"
                    " --force to write the project into it (its files are replaced, other"
                    " files are kept)"
                )
            staging.apply_changes(output, dict(files), write=write_file)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    _sweep_stale_temp(output)
    tmp = Path(
        tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".advisor-tmp", dir=output.parent)
    )
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; a project is not
        for rel, text in files.items():
            write_file(tmp / rel, text)
        try:
            os.rename(tmp, output)  # not os.replace: never over a folder made meanwhile
        except OSError:
            if output.exists():
                raise AdvisorError(
                    f"{output}: made by another run meanwhile; nothing was written"
                ) from None
            raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _sweep_stale_temp(output: Path) -> None:
    """Remove temporary folders of this target that a killed run left (over an hour old)."""
    import time

    for stale in output.parent.glob(f".{glob_escape(output.name)}.*.advisor-tmp"):
        try:
            old = time.time() - stale.stat().st_mtime > 3600
            if old and stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass


def glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


def generate_project(
    answers: Mapping[str, Any],
    output: Path,
    *,
    force: bool = False,
    pretend: bool = False,
    diff: bool = False,
    origin: str = "answers",
) -> GenerateResult:
    """Generate the project for `answers` into `output` (or only describe it with `pretend`)."""
    project = build_project(answers, origin)
    if pretend:
        check_output(Path(output))  # --pretend predicts the real run, refusals included
        text = diff_against_disk(project.files, Path(output)) if diff else None
        return GenerateResult(project, Path(output), written=False, diff=text)
    write_tree(project.files, Path(output), force=force)
    return GenerateResult(project, Path(output), written=True)
