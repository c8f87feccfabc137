"""The pre-trained API stack: for each task the API and feature that serve it, the request built
by the real client library (anonymous credentials, stopped before the transport), the
synchronous/long-running split of Speech-to-Text, and the project's own offline tests."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.gen import recommendation_for, render_to
from tests.helpers.vertex import dry_run, project_imports, project_tests, run_main

BASE = {"project_name": "api-demo", "gcp_project": "acme-apis", "labeled_examples": 0}
# task -> (request type, a check of the request, the client library in requirements.txt)
CASES: dict[str, tuple[str, Any, str]] = {
    "image_classification": (
        "BatchAnnotateImagesRequest",
        lambda r: r["requests"][0]["features"][0]["type_"] == "LABEL_DETECTION",
        "google-cloud-vision",
    ),
    "object_detection": (
        "BatchAnnotateImagesRequest",
        lambda r: r["requests"][0]["features"][0]["type_"] == "OBJECT_LOCALIZATION",
        "google-cloud-vision",
    ),
    "ocr": (
        "BatchAnnotateImagesRequest",
        lambda r: r["requests"][0]["features"][0]["type_"] == "DOCUMENT_TEXT_DETECTION",
        "google-cloud-vision",
    ),
    "text_classification": (
        "ClassifyTextRequest",
        lambda r: r["document"]["type_"] == "PLAIN_TEXT" and len(r["document"]["content"]) > 100,
        "google-cloud-language",
    ),
    "entity_extraction": (
        "AnalyzeEntitiesRequest",
        lambda r: r["encoding_type"] == "UTF8" and r["document"]["content"],
        "google-cloud-language",
    ),
    "sentiment_analysis": (
        "AnalyzeSentimentRequest",
        lambda r: r["encoding_type"] == "UTF8" and r["document"]["content"],
        "google-cloud-language",
    ),
    "translation": (
        "TranslateTextRequest",
        lambda r: r["parent"] == "projects/acme-apis/locations/global"
        and r["target_language_code"] == "es"
        and r["mime_type"] == "text/plain",
        "google-cloud-translate",
    ),
    "speech_to_text": (
        "BatchRecognizeRequest",
        lambda r: r["files"][0]["uri"].startswith("gs://")
        and r["recognizer"].endswith("/locations/global/recognizers/_")
        and "auto_decoding_config" in r["config"]
        and r["config"]["language_codes"] == ["en-US"],
        "google-cloud-speech",
    ),
    "video_classification": (
        "AnnotateVideoRequest",
        lambda r: r["features"] == ["LABEL_DETECTION", "SHOT_CHANGE_DETECTION"],
        "google-cloud-videointelligence",
    ),
    "video_object_tracking": (
        "AnnotateVideoRequest",
        lambda r: r["features"] == ["OBJECT_TRACKING"],
        "google-cloud-videointelligence",
    ),
    "video_action_recognition": (
        "AnnotateVideoRequest",
        lambda r: r["features"] == ["LABEL_DETECTION", "SHOT_CHANGE_DETECTION"],
        "google-cloud-videointelligence",
    ),
}


def generate(task: str, tmp_path: Path) -> Path:
    answers = BASE | {"task": task}
    assert recommendation_for(answers).choice("service") == "pretrained_api"
    return render_to(answers, tmp_path / task)


@pytest.mark.parametrize("task", CASES)
def test_api_request_for_the_task(task: str, tmp_path: Path) -> None:
    request_type, check, package = CASES[task]
    project = generate(task, tmp_path)
    report = dry_run(project, "call_api")
    (sent,) = report["requests"]
    assert sent["request_type"] == request_type
    assert check(sent["request"]), sent["request"]
    requirements = (project / "requirements.txt").read_text().splitlines()
    assert any(line.startswith(f"{package}==") for line in requirements)
    assert "make submit" in (project / "README.md").read_text()


def wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(2 * int(seconds * rate)))
    return path


def test_speech_picks_sync_or_long_running(tmp_path: Path) -> None:
    project = generate("speech_to_text", tmp_path)
    clip = wav(tmp_path / "a.wav", 59.0, rate=8000)
    (sent,) = dry_run(project, "call_api", str(clip))["requests"]
    assert sent["request_type"] == "RecognizeRequest"
    assert "auto_decoding_config" in sent["request"]["config"]  # no encoding is declared
    assert sent["request"]["content"] == f"<{clip.stat().st_size} bytes of inline media>"
    forced = dry_run(project, "call_api", "gs://b/clip.raw", "--sync")
    assert forced["requests"][0]["request_type"] == "RecognizeRequest"
    code, out, err = run_main(project, "call_api", "--dry-run", str(wav(tmp_path / "b.wav", 61.0)))
    assert (code, out) == (2, "")
    assert "at most 60 s" in err


def test_action_recognition_readme_says_what_the_api_cannot_do(tmp_path: Path) -> None:
    readme = (generate("video_action_recognition", tmp_path) / "README.md").read_text()
    assert "no action-recognition feature" in readme
    assert "AutoML Video is shut down" in readme


@pytest.mark.parametrize("task", ["video_classification", "video_object_tracking"])
def test_video_projects_state_the_deprecation(task: str, tmp_path: Path) -> None:
    project = generate(task, tmp_path)
    readme = (project / "README.md").read_text()
    assert "deprecated from 14 September 2026" in readme and "Gemini" in readme
    assert "video-intelligence/docs/deprecations" in readme
    assert "deprecated" in (project / "call_api.py").read_text()
    rec = recommendation_for(BASE | {"task": task})
    assert any("14 Sep 2027" in w for w in rec.decisions["service"].get("warnings", []))


@pytest.mark.parametrize(
    "task", ["ocr", "sentiment_analysis", "speech_to_text", "video_object_tracking"]
)
def test_generated_project_tests_pass_offline(task: str, tmp_path: Path) -> None:
    project = generate(task, tmp_path)
    assert project_tests(project) == ""


def test_a_real_call_sends_the_dry_run_request(tmp_path: Path) -> None:
    """`python call_api.py` without --dry-run (default credentials stubbed, the call stopped at
    the transport): the request is the dry run's."""
    from unittest import mock

    import google.auth
    import google.auth.credentials

    project = generate("translation", tmp_path)
    expected = dry_run(project, "call_api", "Good morning")["requests"]
    anonymous = google.auth.credentials.AnonymousCredentials()
    with (
        project_imports(project),
        mock.patch.object(google.auth, "default", return_value=(anonymous, "acme-apis")),
    ):
        import call_api  # type: ignore[import-not-found]

        with call_api.recording() as requests, pytest.raises(call_api.RequestCaptured):
            call_api.main(["Good morning"])
    assert requests == expected
