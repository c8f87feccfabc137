"""The serving path: the model server on a freshly trained model answers Vertex-format requests
with the trainer's own predictions, rejects what it cannot take, and submit.py registers the model
with the serving image the project builds."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from serving import local  # noqa: E402
from serving.server import build_server  # noqa: E402
from trainer import data  # noqa: E402

SAMPLE = Path(data.DEFAULT_DATA)
TRAIN_ARGS = ["--epochs=1"]
# The transformer's default is the answered size; the tests build the same code small.
TRAIN_ARGS += ["--model_parameters=60000"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short training run on the sample: enough for a model whose outputs vary by row."""
    if not SAMPLE.exists() and (ROOT / "data" / "make_sample.py").exists():
        subprocess.run([sys.executable, "data/make_sample.py"], cwd=ROOT, check=True)
    out = tmp_path_factory.mktemp("serving")
    command = [
        sys.executable,
        "-m",
        "trainer.task",
        f"--data={SAMPLE}",
        f"--model_dir={out / 'model'}",
        f"--checkpoint_dir={out / 'checkpoints'}",
        f"--tensorboard_dir={out / 'logs'}",
        *TRAIN_ARGS,
    ]
    subprocess.run(command, cwd=ROOT, check=True, timeout=900)
    return out / "model"


def test_served_predictions_are_the_trainers(model_dir: Path) -> None:
    options = local.options_of(str(model_dir))
    instances = local.validation_instances(str(SAMPLE), options, 8)
    response = local.serve_and_ask(str(model_dir), instances)
    served = local.served_outputs(response["predictions"])
    expected = local.trainer_outputs(str(model_dir), str(SAMPLE), options, 8)
    assert served.shape == expected.shape and len(served) == len(instances) == 8
    np.testing.assert_allclose(served, expected, atol=1e-5)
    # rows differ, so a server that ignored its input would not pass
    assert not np.allclose(served, served[:1])


def test_serve_local_command_checks_agreement(model_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "serving.local", f"--model_dir={model_dir}", f"--data={SAMPLE}"],
        cwd=ROOT,
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
    import submit

    parent = f"projects/{submit.PROJECT}/locations/{submit.REGION}/models/123"
    assert submit.main(["--dry-run", f"--parent-model={parent}"]) == 0
    report = json.loads(capsys.readouterr().out)
    # the model trains in the custom image, with the pins the serving image installs
    assert report["container"] == "custom"
    last = report["requests"][-1]
    if report["job"] == "custom_job":
        # a CustomJob uploads nothing itself: the model is uploaded once the job succeeds
        assert last["method"] == "ModelService.upload_model"
        registry = last["request"]["request"]
        model = registry["model"]
        assert model["artifact_uri"] == report["base_output_dir"] + "/model/"
    else:
        registry = last["request"]["training_pipeline"]
        model = registry["model_to_upload"]
    container = model["container_spec"]
    assert container["image_uri"] == submit.serving_image() == report["serving_image_uri"]
    assert container["image_uri"].endswith(f"-serving:{submit.image_tag()}")
    assert (container["predict_route"], container["health_route"]) == ("/predict", "/health")
    assert registry["parent_model"] == parent  # a new version under the same model
    # the serving image installs the framework pin the trainer was trained and tested with
    dockerfile = (ROOT / "Dockerfile.serve").read_text()
    assert "COPY requirements.txt" in dockerfile and "serving.server" in dockerfile
