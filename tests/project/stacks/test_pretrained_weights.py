"""`--pretrained` in the torch trainers: a run's weights, saved as .safetensors and as a torch
state_dict (locally and on an in-memory gs://), are the model's before the first step of the next
run; a checkpoint of another model size ends the run with exit 2 and a message naming the file;
wrapped (Lightning, DDP), partial and foreign files load or fail as trainer/pretrained.py says."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch import nn

from tests.helpers.gen import render_to
from tests.helpers.stack_runs import (
    MAIN_PYTHON,
    answers_for,
    import_file,
    make_sample,
    run_env,
    train,
    trainer_command,
)
from tests.helpers.weights import write_safetensors

FAKE_GCS = str(Path(__file__).resolve().parents[2] / "helpers" / "fake_gcs.py")
ANSWERS = answers_for("pytorch", "tabular_classification", "cpu")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny tabular project (test_pytorch.py checks that it renders clean)."""
    return render_to(ANSWERS, tmp_path_factory.mktemp("pretrained") / "project")


@pytest.fixture(scope="module")
def trained(project: Path) -> Path:
    """The project trained for one epoch: its weights are the pretrained ones."""
    make_sample(project)
    train(project, MAIN_PYTHON, "--epochs=1")
    return project


def run_from(
    project: Path, out: Path, *flags: str, launcher: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A second run of the trained project, with its outputs under `out`."""
    command = trainer_command(
        project,
        MAIN_PYTHON,
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
        *flags,
        launcher=launcher,
    )
    return subprocess.run(
        command, cwd=project, env=run_env(), capture_output=True, text=True, timeout=300
    )


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(model_dir / "state_dict.pt", weights_only=True)


@pytest.mark.slow
def test_safetensors_weights_are_the_model_before_the_first_step(
    trained: Path, tmp_path: Path
) -> None:
    first = weights(trained / "out" / "model")
    path = write_safetensors(first, tmp_path / "first.safetensors")
    # No epoch: the exported model is the one that would take the first step.
    done = run_from(trained, tmp_path / "second", "--epochs=0", f"--pretrained={path}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"loaded {len(first)} of {len(first)} tensors from {path}" in done.stderr
    second = weights(tmp_path / "second" / "model")
    assert second.keys() == first.keys()
    assert all(torch.equal(second[key], first[key]) for key in first)


@pytest.mark.slow
def test_a_state_dict_on_cloud_storage_fine_tunes(trained: Path, tmp_path: Path) -> None:
    """One more epoch from the first run's weights, read from gs://, validates better than the
    first run's single epoch from a random start."""
    uri = "gs://weights/run-1/state_dict.pt"
    put = ["--put", str(trained / "out" / "model" / "state_dict.pt"), uri]
    done = run_from(
        trained,
        tmp_path,
        "--epochs=1",
        f"--pretrained={uri}",
        launcher=[MAIN_PYTHON, FAKE_GCS, *put],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"from {uri}" in done.stderr
    fresh = json.loads((trained / "out" / "metrics.json").read_text())
    tuned = json.loads((tmp_path / "metrics.json").read_text())
    assert tuned["val_loss"] < fresh["val_loss"]


@pytest.mark.slow
def test_a_checkpoint_of_another_size_exits_2_naming_the_file(
    trained: Path, tmp_path: Path
) -> None:
    path = trained / "out" / "model" / "state_dict.pt"
    done = run_from(trained, tmp_path, "--hidden_units=32", f"--pretrained={path}")
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"--pretrained {path}: " in done.stderr
    assert "net.0.weight (64, 7) (the model's (32, 7))" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "model").exists()


# ---- the loader itself, in this process ----


class Wrapped(nn.Module):
    """Keys that start with "net." of their own, as the tabular MLP's do."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.fixture(scope="module")
def pretrained(project: Path) -> ModuleType:
    return import_file(project / "trainer" / "pretrained.py")


def saved_by_another() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    other = Wrapped()
    other.net[1].running_mean += 3.0  # a buffer too
    return other.state_dict()


def torchscript(state: dict[str, torch.Tensor], path: Path) -> None:
    model = Wrapped()
    model.load_state_dict(state)
    torch.jit.save(torch.jit.script(model), str(path))


SAVERS: dict[str, Callable[[dict[str, torch.Tensor], Path], None]] = {
    "state_dict": lambda s, path: torch.save(s, path),
    "lightning": lambda s, path: torch.save(
        {"state_dict": {f"net.{k}": v for k, v in s.items()}, "epoch": 4}, path
    ),
    "ddp_checkpoint": lambda s, path: torch.save(
        {"model": {f"module.{k}": v for k, v in s.items()}, "progress": {}}, path
    ),
    "torchscript": torchscript,
}


@pytest.mark.parametrize("saver", list(SAVERS))
def test_wrapped_checkpoints_load(pretrained: ModuleType, tmp_path: Path, saver: str) -> None:
    saved = saved_by_another()
    path = tmp_path / "weights.pt"
    SAVERS[saver](saved, path)
    net = Wrapped()
    pretrained.load_into(net, str(path))
    assert all(torch.equal(net.state_dict()[key], saved[key]) for key in saved)


def test_safetensors_of_every_dtype_read_back(pretrained: ModuleType, tmp_path: Path) -> None:
    tensors = {
        "f32": torch.randn(3, 4),
        "bf16": torch.randn(2, 2).to(torch.bfloat16),
        "i64": torch.arange(5),
        "scalar": torch.tensor(1.5, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        "mask": torch.tensor([True, False]),
    }
    back = pretrained.read_weights(str(write_safetensors(tensors, tmp_path / "w.safetensors")))
    assert back.keys() == tensors.keys()
    assert all(torch.equal(back[k], v) and back[k].dtype == v.dtype for k, v in tensors.items())


def test_files_of_the_safetensors_library_read_back_and_ours_open_in_it(
    pretrained: ModuleType, tmp_path: Path
) -> None:
    """The built-in reader against the reference implementation, both ways: what
    safetensors.torch writes (with its metadata header) reads back, and what the tests write
    opens in safetensors (so the tests' writer is a valid file, not one the reader agrees with)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    tensors = {
        "blocks.0.weight": torch.randn(4, 3),
        "bf16": torch.randn(2, 5).to(torch.bfloat16),
        "f16": torch.randn(3).to(torch.float16),
        "i32": torch.arange(6, dtype=torch.int32).reshape(2, 3),
        "u8": torch.arange(4, dtype=torch.uint8),
        "mask": torch.tensor([True, False, True]),
    }
    theirs = tmp_path / "theirs.safetensors"
    save_file(tensors, str(theirs), metadata={"format": "pt"})
    back = pretrained.read_weights(str(theirs))
    assert back.keys() == tensors.keys()
    assert all(torch.equal(back[k], v) and back[k].dtype == v.dtype for k, v in tensors.items())
    ours = write_safetensors(tensors, tmp_path / "ours.safetensors")
    with safe_open(str(ours), framework="pt") as opened:
        assert set(opened.keys()) == tensors.keys()
        for key, value in tensors.items():
            assert torch.equal(opened.get_tensor(key), value), key


def test_missing_keys_fail_strictly_and_load_the_rest_when_asked(
    pretrained: ModuleType, tmp_path: Path
) -> None:
    saved = saved_by_another()
    del saved["net.0.bias"]
    saved["head.weight"] = torch.ones(1)
    path = str(write_safetensors(saved, tmp_path / "partial.safetensors"))
    net = Wrapped()
    own_bias = net.net[0].bias.detach().clone()
    with pytest.raises(pretrained.data.DataError) as failure:
        pretrained.load_into(net, path)
    assert str(failure.value).startswith(f"--pretrained {path} does not fit the model")
    assert "missing net.0.bias; unexpected head.weight" in str(failure.value)
    pretrained.load_into(net, path, strict=False)
    assert torch.equal(net.net[0].weight, saved["net.0.weight"])
    assert torch.equal(net.net[0].bias, own_bias)


@pytest.mark.parametrize("name", ["notes.pt", "notes.safetensors", "absent.pt"])
def test_a_file_that_is_no_checkpoint_is_named(
    pretrained: ModuleType, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    if name != "absent.pt":
        path.write_text('{"not": "weights"}')
    with pytest.raises(pretrained.data.DataError, match=f"^--pretrained {path}: "):
        pretrained.load_into(Wrapped(), str(path))
