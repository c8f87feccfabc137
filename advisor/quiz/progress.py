"""Quiz progress in the user's data folder, scheduled with Leitner boxes.

Each scenario answered has a box (1..5). A miss puts it in box 1, due at the next quiz; a right
answer moves it up one box, and box n comes back after 2**(n-1) quizzes, so missed scenarios return
sooner than known ones. The unit of time is a quiz session. A file that cannot be read is reported
and moved aside with a timestamp, never overwritten and never a crash.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FILE_NAME = "quiz_progress.json"
FORMAT_VERSION = 1
BOXES = 5


def data_dir() -> Path:
    """$XDG_DATA_HOME/advisor, or ~/.local/share/advisor (the XDG default)."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "advisor"


def progress_path() -> Path:
    return data_dir() / FILE_NAME


def interval(box: int) -> int:
    """Sessions until a scenario in `box` is due again."""
    return int(2 ** (box - 1))


@dataclass
class Card:
    """What the schedule knows about one scenario."""

    box: int = 1
    due: int = 0  # the session from which it is due again
    seen: int = 0
    correct: int = 0
    last_correct: bool | None = None
    last_seen: str = ""

    @classmethod
    def from_json(cls, data: Any) -> Card:
        if not isinstance(data, dict):
            raise ValueError("a scenario entry is not a mapping")
        card = cls(**data)  # unknown keys raise TypeError
        ints = (card.box, card.due, card.seen, card.correct)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in ints):
            raise ValueError("box, due, seen and correct must be integers")
        if not 1 <= card.box <= BOXES or card.correct > card.seen or min(ints) < 0:
            raise ValueError(f"box must be 1..{BOXES} and counts consistent")
        if card.last_correct not in (None, True, False) or not isinstance(card.last_seen, str):
            raise ValueError("last_correct must be true, false or null")
        return card


@dataclass
class Progress:
    """The schedule, loaded from and saved to `path`."""

    path: Path
    session: int = 0
    cards: dict[str, Card] = field(default_factory=dict)
    notice: str | None = None  # set when the file on disk could not be used
    writable: bool = True
    changed: set[str] = field(default_factory=set)  # scenarios answered since loading
    base_session: int = 0  # the session count on disk when loaded (or last saved)

    @classmethod
    def load(cls, path: Path | None = None) -> Progress:
        path = path or progress_path()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except (OSError, UnicodeDecodeError) as exc:
            # Unreadable but maybe intact: leave it alone and do not overwrite it.
            return cls(
                path, notice=f"{path} cannot be read ({exc}); progress is not saved", writable=False
            )
        try:
            return cls._parse(path, text)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            message, moved = _set_aside(path, str(exc))
            return cls(path, notice=message, writable=moved)

    @classmethod
    def _parse(cls, path: Path, text: str) -> Progress:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"not a version-{FORMAT_VERSION} progress file")
        session = data["session"]
        if not isinstance(session, int) or isinstance(session, bool) or session < 0:
            raise ValueError("session must be a non-negative integer")
        scenarios = data["scenarios"]
        if not isinstance(scenarios, dict):
            raise ValueError("scenarios must be a mapping")
        cards = {str(key): Card.from_json(value) for key, value in scenarios.items()}
        return cls(path, session, cards, base_session=session)

    def start_session(self) -> int:
        """Count a new quiz (saved with its first recorded answer)."""
        self.session += 1
        return self.session

    def record(self, scenario_id: str, correct: bool) -> Card:
        """Move a scenario between boxes after an answer."""
        card = self.cards.setdefault(scenario_id, Card())
        self.changed.add(scenario_id)
        card.seen += 1
        card.last_seen = datetime.now(UTC).isoformat(timespec="seconds")
        card.last_correct = correct
        if correct:
            card.correct += 1
            card.box = min(card.box + 1, BOXES)
        else:
            card.box = 1
        card.due = self.session + interval(card.box)
        return card

    def is_due(self, scenario_id: str, session: int | None = None) -> bool:
        card = self.cards.get(scenario_id)
        return card is not None and card.due <= (self.session if session is None else session)

    def missed(self) -> list[str]:
        """Scenarios whose last answer was wrong, the most overdue first."""
        ids = [key for key, card in self.cards.items() if card.last_correct is False]
        return sorted(ids, key=lambda key: (self.cards[key].due, key))

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "session": self.session,
            "scenarios": {key: asdict(card) for key, card in sorted(self.cards.items())},
        }

    def save(self) -> str | None:
        """Write atomically; return a warning instead of raising when the folder is not writable.

        Another quiz may have saved meanwhile: under a lock on the folder, the file is read
        again and this session's answers are merged into it, so neither session's are lost.
        A symbolic link (a dotfiles repository, say) is written through, not replaced.
        """
        from advisor.fileio import run_lock

        if not self.writable:
            return None
        target = Path(os.path.realpath(self.path))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with run_lock(target.parent, wait=True):
                self._merge_from_disk(target)
                fd, tmp = tempfile.mkstemp(prefix=".quiz_progress.", dir=target.parent)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(self.to_json(), handle, indent=1)
                    handle.write("\n")
                os.replace(tmp, target)
                self.base_session = self.session
        except OSError as exc:
            self.writable = False
            self.notice = f"progress cannot be saved to {self.path} ({exc})"
            return self.notice
        return None

    def _merge_from_disk(self, target: Path) -> None:
        try:
            disk = Progress._parse(target, target.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            return  # nothing usable there: this session's state is the whole state
        mine = {key: self.cards[key] for key in self.changed if key in self.cards}
        self.cards = {**disk.cards, **mine}
        self.session = disk.session + (self.session - self.base_session)  # both runs count


def _set_aside(path: Path, reason: str) -> tuple[str, bool]:
    """Rename a corrupted file with a timestamp so nothing is lost; say where it went."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.rename(target)
    except OSError as exc:
        return (
            f"{path} is corrupted ({reason}) and could not be moved aside ({exc});"
            " progress is not saved",
            False,
        )
    return (
        f"{path} was corrupted ({reason}); it was moved to {target} and progress starts afresh",
        True,
    )
