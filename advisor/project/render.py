"""Rendering a project from templates/: pick the stack, build the context, render every file.

The stack's manifest (advisor/project/stacks.py) lists its layers; a project is those folders
overlaid in order, then the stack's own folder (the later file wins on the same path).
Files ending in `.j2` are rendered with StrictUndefined and lose the suffix; other files are
copied. Names starting with one `_` (not dunders like `__init__.py`) are partials for
`{% include %}`/`{% import %}` and are not written; a rendered file that is empty (only
whitespace) is not written either, which is how a template makes itself conditional.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

from advisor import __version__
from advisor.engine import Recommendation
from advisor.errors import AdvisorError
from advisor.paths import templates_dir
from advisor.project.stacks import (
    CATALOGUE_FILE,
    LAYER_FILE,
    MANIFEST,
    Stack,
    load_stacks,
    pick_catalogue,
    select_stack,
    select_stack_manifest,
    stack_facts,
)

# the stack lookups callers have always reached through this module
__all__ = ["load_stacks", "render_project", "select_stack", "build_context", "FILTERS"]


# ---- filters: one per target language, so user strings are escaped where they land ----


def py_literal(value: Any) -> str:
    """A Python literal (strings, numbers, booleans, None, lists and dicts of them).

    Written as black writes it, so black has less to do and the template's lines are the
    generated lines: double quotes unless they would need more escapes than single quotes.
    """
    if isinstance(value, str):
        return _py_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(item) for item in value) + "]"
    if isinstance(value, tuple):
        items = [py_literal(item) for item in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(value, dict):
        pairs = (f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    return repr(value)


def _py_string(value: str) -> str:
    """repr(value), re-quoted the way black's string normalisation quotes it."""
    text = repr(value)
    if text[0] == '"':  # repr chose double quotes itself (the value holds ' and no ")
        return text
    body = text[1:-1]
    # Each escape in the single-quoted body, with every bare ": swap which quote is escaped.
    swapped = re.sub(
        r'\\(.)|"',
        lambda m: "'" if m.group(1) == "'" else (m.group(0) if m.group(1) else '\\"'),
        body,
        flags=re.DOTALL,
    )
    # black keeps the single quotes only when double ones would need more escapes
    return text if value.count('"') > value.count("'") else f'"{swapped}"'


def json_literal(value: Any) -> str:
    """JSON (also a valid YAML flow scalar/collection)."""
    return json.dumps(value, ensure_ascii=False)


def shell_quote(value: Any) -> str:
    return shlex.quote(str(value))


def sql_identifier(value: Any) -> str:
    """A BigQuery quoted identifier: `name` with backslashes and backticks escaped."""
    text = str(value).replace("\\", "\\\\").replace("`", "\\`")
    return f"`{text}`"


def sql_string(value: Any) -> str:
    """A BigQuery string literal."""
    text = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{text}'"


FILTERS = {
    "py": py_literal,
    "json": json_literal,
    "yaml": json_literal,
    "sh": shell_quote,
    "sql_ident": sql_identifier,
    "sql_str": sql_string,
}


def build_context(rec: Recommendation, stack: Stack, root: Path | None = None) -> dict[str, Any]:
    """What every template sees: the recommendation, the stack's manifest data and the derived
    facts (templates/context.yaml, then each layer's and the stack's own `facts:`)."""
    from advisor.engine import default_ruleset
    from advisor.engine.report import design_note
    from advisor.project.context import evaluate_facts, load_context_facts, parse_facts

    answers = rec.answers
    data = rec.to_json()
    tips = data.get("tips", [])
    facts = load_context_facts(root or templates_dir())
    for layer in stack.overlay:
        facts += parse_facts(layer.facts, f"{layer.folder}")
    derived = evaluate_facts(facts, rec, tips)
    catalogue: dict[str, Any] = {}
    for layer in stack.overlay:  # the last folder with a catalogue wins
        if layer.catalogue:
            catalogue = pick_catalogue(layer.catalogue, {**stack_facts(rec), **derived})
    return {
        # the recommendation as a Markdown design note, for a README or DESIGN.md to embed
        "design_note": design_note(rec, default_ruleset()),
        "answers": answers,
        "rec": data,
        "d": data["decisions"],
        "cost": data.get("cost", {}),
        "tips": tips,
        "stack": stack.name,
        "images": stack.images,
        "docker": stack.docker,
        **stack.variables,
        **derived,
        "hyperparameters": catalogue,
        "prediction": prediction_settings(default_ruleset().catalogue),
        "project_name": answers["project_name"],
        "package": "trainer",
        "tool_version": __version__,
    }


def prediction_settings(catalogue: Any) -> dict[str, Any]:
    """The catalogue's endpoint and batch prediction settings, each with its machine's price and
    source (prediction.yaml), for the deploy and batch prediction templates."""
    entries = catalogue.prediction if catalogue is not None else {}
    settings: dict[str, Any] = {}
    for name, entry in entries.items():
        if entry.get("kind") == name:  # a setting (endpoint, batch), not a machine
            machine = entries[entry["machine_type"]]
            settings[name] = {
                **entry,
                "hourly_usd": machine["hourly_usd"],
                "price_source": machine["source"],
                "price_as_of": machine["as_of"],
            }
    return settings


def _bytecode_cache() -> Any:
    """Compiled templates cached across runs (Jinja checks each template's mtime).

    Compiled code is run, so entries live in the user's private cache folder and are sealed
    (advisor.usercache): only an entry this user wrote is loaded; anything else is a miss.
    """
    import jinja2

    from advisor import usercache

    folder = usercache.cache_dir("jinja")
    if folder is None:
        return None

    class SealedBytecodeCache(jinja2.BytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            data = usercache.read_sealed(folder, f"{bucket.key}.cache")
            if data is not None:
                try:
                    bucket.bytecode_from_string(data)
                except Exception:  # noqa: BLE001 - our own entry, of another Python: a miss
                    bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            usercache.write_sealed(folder, f"{bucket.key}.cache", bucket.bytecode_to_string())

    return SealedBytecodeCache()


def _environment(search_path: list[Path]) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        bytecode_cache=_bytecode_cache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(FILTERS)
    return env


def _is_partial(name: str) -> bool:
    """`_x.j2` is a partial; dunder names (`__init__.py`) are real files."""
    return name.startswith("_") and not name.startswith("__")


def _template_files(folder: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    if not folder.is_dir():
        return files
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or any(_is_partial(part) for part in rel.parts):
            continue
        if "__pycache__" in rel.parts or path.suffix == ".pyc":
            continue
        if rel.as_posix() in (MANIFEST, LAYER_FILE, CATALOGUE_FILE):  # data, not project files
            continue
        files[rel.as_posix()] = path
    return files


def render_project(rec: Recommendation, root: Path | None = None) -> dict[str, str]:
    """Every file of the project: relative path -> text. Nothing is written here."""
    import jinja2

    root = root or templates_dir()
    stack = select_stack_manifest(rec, root)
    context = build_context(rec, stack, root)
    sources: dict[str, Path] = {}
    for layer in stack.overlay:
        sources.update(_template_files(layer.folder))
        # a layer's conditions also hold back files an earlier layer brought
        sources = {rel: path for rel, path in sources.items() if layer.writes(rel, context)}
    # the later folder wins, so it comes first on Jinja's search path
    env = _environment([layer.folder for layer in reversed(stack.overlay)])
    output: dict[str, str] = {}
    for rel, path in sources.items():
        if rel.endswith(".j2"):
            try:
                text = env.get_template(rel).render(context)
            except jinja2.TemplateError as exc:
                line = getattr(exc, "lineno", None)
                where = f"{path}" + (f":{line}" if line else "")
                raise AdvisorError(f"template {where}: {exc}") from None
            if not text.strip():
                continue
            output[rel[: -len(".j2")]] = text
        else:
            output[rel] = path.read_text(encoding="utf-8")
    return output
