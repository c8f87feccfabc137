"""The serving path: the model server on a freshly trained model answers Vertex-format requests
with the trainer's own predictions, rejects what it cannot take, and submit.py registers the model
with the serving image the project builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from serving import local
from serving.server import build_server

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample.csv"
ENV = {**os.environ, **{}}
DEVICE_ARGS = ["--device=cpu"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One short epoch on the sample: enough for a model whose outputs vary by row."""
    if not SAMPLE.exists():
        subprocess.run([sys.executable, "data/make_sample.py"], cwd=ROOT, check=True)
    out = tmp_path_factory.mktemp("serving")
    command = [
        sys.executable,
        "-m",
        "trainer.task",
        f"--data={SAMPLE}",
        "--epochs=1",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
        *DEVICE_ARGS,
    ]
    subprocess.run(command, cwd=ROOT, env=ENV, check=True, timeout=900)
    return out / "model"


def test_served_predictions_are_the_trainers(model_dir: Path) -> None:
    options = local.options_of(str(model_dir))
    instances = local.validation_instances(str(SAMPLE), options, 8)
    response = local.serve_and_ask(str(model_dir), instances)
    served = local.served_outputs(response["predictions"])
    expected = local.trainer_outputs(str(model_dir), str(SAMPLE), options, 8)
    assert served.shape == expected.shape and len(served) == len(instances)
    np.testing.assert_allclose(served, expected, atol=1e-5)
    # rows differ, so a server that ignored its input would not pass
    assert not np.allclose(served, served[:1])


def test_serve_local_command_checks_agreement(model_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "serving.local", f"--model_dir={model_dir}", f"--data={SAMPLE}"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["response"]["predictions"]) == len(report["request"]["instances"]) == 4


@pytest.mark.parametrize("body", [{"instances": []}, {"instances": [12345]}, {"rows": [1]}])
def test_requests_it_cannot_take_get_400(model_dir: Path, body: dict) -> None:
    server = build_server(str(model_dir), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/predict"
        with pytest.raises(urllib.error.HTTPError) as error:
            local.post(url, body)
        assert error.value.code == 400
        assert "instance" in json.loads(error.value.read())["error"]
    finally:
        server.shutdown()
        server.server_close()


def test_dry_run_registers_the_model_with_the_serving_image(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sys.path.insert(0, str(ROOT))
    import submit

    parent = f"projects/{submit.PROJECT}/locations/{submit.REGION}/models/123"
    assert submit.main(["--dry-run", f"--parent-model={parent}"]) == 0
    report = json.loads(capsys.readouterr().out)
    pipeline = report["requests"][-1]["request"]["training_pipeline"]
    container = pipeline["model_to_upload"]["container_spec"]
    assert container["image_uri"] == submit.serving_image() == report["serving_image_uri"]
    assert container["image_uri"].endswith(f"-serving:{submit.image_tag()}")
    assert (container["predict_route"], container["health_route"]) == ("/predict", "/health")
    assert pipeline["parent_model"] == parent  # a new version under the same model
    # the serving image installs the torch pin the trainer was trained and tested with
    dockerfile = (ROOT / "Dockerfile.serve").read_text()
    assert "COPY requirements.txt" in dockerfile and "serving.server" in dockerfile
