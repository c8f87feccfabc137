"""The caches cannot be turned against the user: private folders, sealed entries, corrupt
entries are misses, ADVISOR_NO_CACHE turns them all off (review F2, F3, F6, F26, F28, F31)."""

from __future__ import annotations

import marshal
import os
import pickle
import stat
import time
from pathlib import Path

import pytest

from advisor import usercache
from tests.reliability.conftest import EXAMPLE, advisor, tree_digest


class Planted:
    """A pickle that, when loaded, leaves a file behind: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


@pytest.fixture
def private(tmp_path: Path) -> dict[str, str]:
    """A cache of this test's own (the shared one must not be poisoned)."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "XDG_CACHE_HOME": str(tmp_path / "cache")}


def _cache(env: dict[str, str]) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "advisor"


def _recommend(env: dict[str, str]) -> str:
    result = advisor("recommend", "--answers", str(EXAMPLE), "--json", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_f2_the_cache_is_private_under_umask_000(tmp_path: Path, private: dict[str, str]) -> None:
    result = advisor(
        "new", "--answers", str(EXAMPLE), "--output", str(tmp_path / "um1"), env=private, umask=0
    )
    assert result.returncode == 0, result.stderr
    paths = [_cache(private), *_cache(private).rglob("*")]
    assert len(paths) > 20  # the rule set, parsed YAML, black and Jinja entries, the key
    for path in paths:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_f2_a_planted_pickle_is_never_unpickled(tmp_path: Path, private: dict[str, str]) -> None:
    _recommend(private)  # the cache exists; the attacker computes the name and replaces it
    marker = tmp_path / "pwned"
    (entry,) = _cache(private).glob("ruleset-*.pickle")
    entry.write_bytes(pickle.dumps(("any key", Planted(marker))))
    _recommend(private)
    assert not marker.exists()


def test_f2_a_cache_folder_others_can_write_is_not_used(
    tmp_path: Path, private: dict[str, str]
) -> None:
    _recommend(private)
    marker = tmp_path / "pwned"
    os.chmod(_cache(private), 0o777)  # what umask 000 or a shared XDG_CACHE_HOME gave
    (entry,) = _cache(private).glob("ruleset-*.pickle")
    entry.write_bytes(pickle.dumps(("any key", Planted(marker))))
    result = advisor("recommend", "--answers", str(EXAMPLE), "--json", env=private)
    assert result.returncode == 0, result.stderr
    assert "is writable by other users; the cache is not used" in result.stderr
    assert not marker.exists()


def test_f2_a_cache_folder_owned_by_another_user_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("ADVISOR_NO_CACHE", raising=False)
    assert usercache.cache_dir() == tmp_path / "advisor"
    monkeypatch.setattr(usercache.os, "getuid", lambda: os.stat(tmp_path).st_uid + 1)
    monkeypatch.setattr(usercache, "_warned", set())
    assert usercache.cache_dir() is None
    assert "is owned by another user" in capsys.readouterr().err


def test_f2_a_planted_jinja_bytecode_entry_is_never_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2
    from jinja2.bccache import Bucket

    from advisor.project.render import _bytecode_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("ADVISOR_NO_CACHE", raising=False)
    cache = _bytecode_cache()
    env = jinja2.Environment()
    checksum = cache.get_source_checksum("{{ 1 }}")
    mine = Bucket(env, "k" * 40, checksum)
    mine.code = compile("1", "<template>", "exec")
    cache.dump_bytecode(mine)  # an entry the user wrote is used ...
    loaded = Bucket(env, "k" * 40, checksum)
    cache.load_bytecode(loaded)
    assert loaded.code is not None
    planted = Bucket(env, "k" * 40, checksum)
    planted.code = compile("open('pwned', 'w')", "<planted>", "exec")
    entries = list((tmp_path / "advisor" / "jinja").iterdir())
    assert entries
    for entry in entries:  # ... one replaced in Jinja's own format, right checksum, is not
        entry.write_bytes(planted.bytecode_to_string())
    victim = Bucket(env, "k" * 40, checksum)
    cache.load_bytecode(victim)
    assert victim.code is None


def test_f3_a_poisoned_black_entry_does_not_reach_the_project(
    tmp_path: Path, private: dict[str, str]
) -> None:
    first = advisor("new", "--answers", str(EXAMPLE), "--output", str(tmp_path / "a"), env=private)
    assert first.returncode == 0, first.stderr
    entries = list((_cache(private) / "black").glob("*.py"))
    assert entries
    for entry in entries:  # valid Python, computed the way the review's script did
        entry.write_text('import os\nos.system("id")  # injected via cache\n')
    second = advisor("new", "--answers", str(EXAMPLE), "--output", str(tmp_path / "b"), env=private)
    assert second.returncode == 0, second.stderr
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_f3_a_tampered_yaml_cache_does_not_change_the_advice(private: dict[str, str]) -> None:
    before = _recommend(private)
    (entry,) = _cache(private).glob("yaml-*.marshal")
    (rules,) = _cache(private).glob("ruleset-*.pickle")
    data = marshal.loads(entry.read_bytes()[len(b"advisor-sealed-1\n") + 32 :])
    for key, (size, mtime, parsed) in data.items():
        if isinstance(parsed, dict) and "because" in parsed:
            data[key] = (size, mtime, {**parsed, "because": "POISONED: trust me"})
    entry.write_bytes(marshal.dumps(data))  # matching stamps, no valid seal
    rules.unlink()  # forces the rules to be read again, through the YAML cache
    assert "POISONED" not in _recommend(private)
    assert _recommend(private) == before


def test_f6_a_truncated_or_corrupt_black_entry_is_a_miss(
    tmp_path: Path, private: dict[str, str]
) -> None:
    first = advisor("new", "--answers", str(EXAMPLE), "--output", str(tmp_path / "a"), env=private)
    assert first.returncode == 0, first.stderr
    entries = sorted((_cache(private) / "black").glob("*.py"))
    for index, entry in enumerate(entries):
        data = entry.read_bytes()
        # cut at a statement boundary (still parses), or make it unparsable: both must miss
        cut = data.find(b"\n", len(data) // 2)  # short entries (an __init__.py) too
        entry.write_bytes(data[: cut + 1] if index % 2 and cut > 0 else b"def broken(:\n")
    second = advisor("new", "--answers", str(EXAMPLE), "--output", str(tmp_path / "b"), env=private)
    assert second.returncode == 0, second.stderr
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


def test_f6_no_cache_means_no_cache_is_read_or_written(
    tmp_path: Path, private: dict[str, str]
) -> None:
    env = {**private, "ADVISOR_NO_CACHE": "1"}
    result = advisor("new", "--answers", str(EXAMPLE), "--output", str(tmp_path / "p"), env=env)
    assert result.returncode == 0, result.stderr
    assert not Path(private["XDG_CACHE_HOME"]).exists()


def test_f26_a_sealed_entry_of_the_wrong_shape_is_a_miss(
    tmp_path: Path, private: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _recommend(private)
    (entry,) = _cache(private).glob("yaml-*.marshal")
    (_cache(private) / next(_cache(private).glob("ruleset-*.pickle")).name).unlink()
    monkeypatch.setenv("XDG_CACHE_HOME", private["XDG_CACHE_HOME"])
    monkeypatch.delenv("ADVISOR_NO_CACHE", raising=False)
    folder = usercache.cache_dir()
    for shape in ([1, 2, 3], {"x": (1, 2)}, {str(EXAMPLE): (0, 0, "garbage")}):
        usercache.write_sealed(folder, entry.name, marshal.dumps(shape))  # even if sealed
        assert _recommend(private) == before
        for pickled in _cache(private).glob("ruleset-*.pickle"):
            pickled.unlink()


def test_f28_stale_temporary_files_in_the_cache_are_swept(private: dict[str, str]) -> None:
    _recommend(private)
    stale = _cache(private) / ".ruleset-x.advisor-tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    for pickled in _cache(private).glob("ruleset-*.pickle"):
        pickled.unlink()  # the next run writes an entry, and sweeps
    _recommend(private)
    assert not stale.exists()


def test_f31_a_relative_xdg_cache_home_is_ignored(tmp_path: Path, private: dict[str, str]) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = advisor(
        "recommend",
        "--answers",
        str(EXAMPLE),
        env={**private, "XDG_CACHE_HOME": "relcache"},
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    assert list(work.iterdir()) == []
    assert (Path(private["HOME"]) / ".cache" / "advisor").is_dir()
