"""The sizing step against published reference points, and the catalogue's own guarantees."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from advisor.engine import recommend
from advisor.engine.catalogue_check import catalogue_problems
from advisor.engine.sizing import choose, need
from advisor.errors import BadAnswers, BadRuleFile
from advisor.ruleset.questions import validate_answers
from advisor.ruleset.rules import RuleSet, load_rules
from tests.conftest import REPO, run_advisor


def _rec(ruleset: RuleSet, **answers: Any) -> Any:
    return recommend(validate_answers(answers, ruleset.questions, "test"), ruleset)


def _need(ruleset: RuleSet, **answers: Any) -> Any:
    assert ruleset.catalogue is not None
    return need(validate_answers(answers, ruleset.questions, "test"), ruleset.catalogue)


def test_7b_adamw_needs_about_112_gb_of_training_state(ruleset: RuleSet) -> None:
    # ZeRO (arXiv:1910.02054), section 3.1: mixed-precision Adam keeps 16 bytes a parameter
    assert _need(ruleset, model_parameters=7_000_000_000).state_gb == pytest.approx(112)
    assert _need(ruleset, model_parameters=7_000_000_000, needs_float64=True).state_gb == 224


def test_bert_large_fits_one_16_gb_gpu_with_mixed_precision(ruleset: RuleSet) -> None:
    # BERT-large (340M) fine-tunes on one 16 GB GPU at a small batch (google-research/bert README);
    # the rules send models over 100M parameters to several GPUs, so sizing is asked directly
    assert ruleset.catalogue is not None
    bert = _need(ruleset, framework="pytorch", model_parameters=340_000_000)
    plan, _ = choose({"kind": "gpu", "devices": "one", "fit": "model"}, bert, ruleset.catalogue)
    assert plan is not None and plan.fits and plan.capacity_gb == 16
    assert 5.4 < plan.memory_gb < 16


@pytest.mark.parametrize(
    ("parameters", "smallest"),
    [
        (300_000_000, 16),  # fits T4 / V100 / TPU v5e (16 GB)
        (1_000_000_000, 24),  # 21.5 GB: L4 (24 GB), not 16 GB devices
        (1_800_000_000, 40),  # 37.5 GB: A100 40 GB
        (3_500_000_000, 80),  # 71.5 GB: A100 80 GB / H100
        # H200 (141 GB) and B200 (180 GB) come only in 8-GPU machines: see the multi-GPU test
    ],
)
def test_one_gpu_holds_what_its_memory_allows(
    ruleset: RuleSet, parameters: int, smallest: float
) -> None:
    assert ruleset.catalogue is not None
    wanted = _need(ruleset, framework="tensorflow", model_parameters=parameters)
    plan, _ = choose({"kind": "gpu", "devices": "one", "fit": "model"}, wanted, ruleset.catalogue)
    assert plan is not None and plan.fits
    assert plan.capacity_gb == smallest


def test_a_float64_3b_model_gets_gpus_that_hold_it_whole(ruleset: RuleSet) -> None:
    # 3e9 x 32 bytes = 96 GB of state: more than an 80 GB GPU, within an H200 (141 GB)
    rec = _rec(
        ruleset,
        task="image_classification",
        framework="pytorch",
        model_parameters=3_000_000_000,
        needs_float64=True,
    )
    hardware = rec.decisions["hardware"]
    assert hardware["choice"] == "multi_gpu" and hardware["sizing"]["fits"]
    assert hardware["sizing"]["memory_available_gb"] >= 141


def test_a_7b_model_on_a_pod_slice_is_sharded_by_the_generated_spmd_trainer(
    ruleset: RuleSet,
) -> None:
    rec = _rec(
        ruleset, task="text_classification", framework="pytorch", model_parameters=7_000_000_000
    )
    hardware = rec.decisions["hardware"]
    assert hardware["choice"] == "tpu_pod"
    assert hardware["machine_type"].startswith("ct5lp-") and hardware["tpu_topology"]
    assert hardware["sizing"]["fits"] and "SPMD" in hardware["sizing"]["sharding"]
    assert any("shards it over" in w for w in hardware["warnings"])
    assert not any("cannot run this plan" in w for w in hardware["warnings"])
    assert hardware["guide_answer"]["accelerator_type"] == "TPU_V3"


def test_a_7b_keras_model_on_a_pod_slice_says_the_generated_code_cannot(
    ruleset: RuleSet,
) -> None:
    rec = _rec(
        ruleset, task="text_classification", framework="tensorflow", model_parameters=7_000_000_000
    )
    hardware = rec.decisions["hardware"]
    assert hardware["choice"] == "tpu_pod" and hardware["sizing"]["sharding"]
    assert any("cannot run this plan as is" in w for w in hardware["warnings"])


def test_spot_is_never_priced_for_a_pod_slice(ruleset: RuleSet) -> None:
    rec = _rec(
        ruleset, task="text_classification", model_parameters=2_000_000_000, fault_tolerant=True
    )
    assert rec.choice("hardware") == "tpu_pod"
    assert rec.top["cost"]["choice"] == "on_demand"
    assert rec.decisions["hardware"]["spot_hourly_usd"] is None


def test_cost_is_price_times_machines_times_hours_on_the_chosen_hardware(
    ruleset: RuleSet,
) -> None:
    rec = _rec(
        ruleset,
        task="image_classification",
        framework="tensorflow",
        max_machines=2,
        model_parameters=300_000_000,
        expected_training_hours=96,
    )
    hardware, cost = rec.decisions["hardware"], rec.top["cost"]
    assert hardware["replica_count"] == 2
    assert hardware["estimated_hours"] < 96  # several GPUs finish sooner than one
    assert cost["estimate_usd"] == pytest.approx(
        hardware["hourly_usd"] * hardware["estimated_hours"], rel=0.01
    )


def test_a_small_cnn_with_20_gpu_hours_of_work_does_not_go_to_a_cpu(ruleset: RuleSet) -> None:
    rec = _rec(
        ruleset,
        task="image_classification",
        framework="tensorflow",
        model_family="cnn",
        model_parameters=800_000,
        data_size_gb=50,
        expected_training_hours=20,
    )
    assert rec.choice("hardware") == "single_gpu"


def test_a_60_gb_scikit_learn_table_gets_a_machine_that_holds_it(ruleset: RuleSet) -> None:
    rec = _rec(ruleset, task="tabular_classification", framework="scikit_learn", data_size_gb=60)
    sizing = rec.decisions["hardware"]["sizing"]
    assert sizing["memory_available_gb"] >= 120 and sizing["fits"]


def test_40_gb_of_xgboost_data_gets_a_gpu_that_holds_it(ruleset: RuleSet) -> None:
    rec = _rec(ruleset, task="tabular_classification", framework="xgboost", data_size_gb=40)
    hardware = rec.decisions["hardware"]
    assert hardware["choice"] == "single_gpu"
    assert hardware["accelerator_type"] != "NVIDIA_TESLA_T4" and hardware["sizing"]["fits"]


def test_pytorch_never_gets_a_volta_gpu(ruleset: RuleSet) -> None:
    for hours in (48, 500):
        rec = _rec(
            ruleset,
            task="image_classification",
            framework="pytorch",
            model_family="rnn",
            expected_training_hours=hours,
            max_machines=2,
        )
        assert rec.decisions["hardware"]["accelerator_type"] != "NVIDIA_TESLA_V100"


def test_a_tpu_not_offered_in_the_region_is_said_plainly(ruleset: RuleSet) -> None:
    rec = _rec(
        ruleset,
        task="recommendation",
        framework="tensorflow",
        large_embeddings=True,
        region="europe-west1",
    )
    hardware = rec.decisions["hardware"]
    assert hardware["choice"] == "tpu" and not hardware["sizing"]["fits"]
    assert any("europe-west4" in w and "not one you can rent" in w for w in hardware["warnings"])


def test_a_deadline_no_hardware_meets_says_what_would_change_it(ruleset: RuleSet) -> None:
    rec = _rec(
        ruleset,
        task="image_classification",
        framework="pytorch",
        expected_training_hours=100_000,
        deadline_hours=1,
    )
    warnings = rec.decisions["hardware"]["warnings"]
    assert any("deadline" in w and "more machines" in w for w in warnings)


def test_automl_edge_training_is_priced_per_node_hour(ruleset: RuleSet) -> None:
    rec = _rec(ruleset, team="no_ml_expertise", task="image_classification")
    cost = rec.top["cost"]
    assert cost["choice"] == "node_hour_billing"
    assert cost["estimate_usd"] == pytest.approx(8 * 3.465)


def test_an_unknown_region_is_bad_input_naming_the_known_ones(ruleset: RuleSet) -> None:
    with pytest.raises(BadAnswers, match="field 'region'.*us-central1"):
        validate_answers({"region": "mars-north1"}, ruleset.questions, "answers.yml")


def test_an_unknown_region_exits_2_without_a_traceback(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("task: image_classification\nregion: mars-north1\n")
    result = run_advisor("recommend", "--answers", str(answers))
    assert result.returncode == 2
    assert "region" in result.stderr and "europe-west4" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_catalogue_entry_without_a_source_fails_to_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_NO_CACHE", "1")
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    path = rules / "catalogue" / "accelerators.yaml"
    path.write_text(
        path.read_text().replace(
            "    source: https://www.nvidia.com/en-us/data-center/l4/\n", "", 1
        )
    )
    with pytest.raises(BadRuleFile, match="entry NVIDIA_L4: field 'source'"):
        load_rules(rules)


def test_rules_check_names_spot_where_the_catalogue_offers_none(ruleset: RuleSet) -> None:
    assert ruleset.catalogue is not None
    no_spot = [replace(o, spot_hourly_usd=None) for o in ruleset.catalogue.offers]
    broken = replace(ruleset, catalogue=replace(ruleset.catalogue, offers=no_spot))
    problems = catalogue_problems(broken)
    assert any(
        p.startswith("catalogue: COST-SPOT") and "Spot VMs are scheduled" in p for p in problems
    )
    assert catalogue_problems(ruleset) == []


def test_an_edge_detector_budget_uses_the_edge_range(ruleset: RuleSet) -> None:
    # SDK 2.7.0 automl_image_object_detection.py: MOBILE_TF_* budgets are 1,000 to 100,000
    small = _rec(
        ruleset,
        team="no_ml_expertise",
        task="object_detection",
        deployment_target="edge",
        automl_budget_request=5000,
    ).decisions["automl"]
    assert small["budget_milli_node_hours"] == 5000 and "warnings" not in small
    large = _rec(
        ruleset,
        team="no_ml_expertise",
        task="object_detection",
        deployment_target="edge",
        automl_budget_request=500000,
    ).decisions["automl"]
    assert large["budget_milli_node_hours"] == 100000
    assert large["estimate_usd"] == pytest.approx(100 * 18.0)  # edge training: $18 a node hour


def test_a_multi_host_slice_warns_only_for_a_trainer_that_uses_one_host(
    ruleset: RuleSet,
) -> None:
    # audit A10: TPUClusterResolver(tpu="local") sees only its own host's chips; the TensorFlow
    # trainer now resolves every host of the slice (trainer/tpu_slice.py), so no warning
    answers = {
        "task": "text_classification",
        "framework": "tensorflow",
        "model_parameters": 2_000_000_000,
    }
    hardware = _rec(ruleset, **answers).decisions["hardware"]
    assert hardware["choice"] == "tpu_pod" and hardware["sizing"]["offer"].endswith("x TPU_V5E)")
    assert not any("hosts, but" in w for w in hardware.get("warnings", []))
    # a framework whose catalogue entry says it uses one host is warned, with the stack that can
    assert ruleset.catalogue is not None
    frameworks = dict(ruleset.catalogue.frameworks)
    frameworks["tensorflow"] = frameworks["tensorflow"] | {
        "multi_host_tpu": False,
        "multi_host_note": "it reaches only its own host",
    }
    single = replace(ruleset, catalogue=replace(ruleset.catalogue, frameworks=frameworks))
    warnings = _rec(single, **answers).decisions["hardware"]["warnings"]
    assert any("2 hosts, but" in w and "its own host" in w for w in warnings), warnings


def test_the_readme_table_is_what_the_engine_gives_for_each_example(ruleset: RuleSet) -> None:
    from advisor.project.example_table import BEGIN, END, example_table

    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = example_table(ruleset, REPO / "examples")
    assert text[text.index(BEGIN) : text.index(END) + len(END)] == table
    names = sorted(p.stem for p in (REPO / "examples").glob("*.yml"))
    assert [row.split(" | ")[0][2:] for row in table.splitlines()[3:-1]] == names
    # the estimate column carries the engine's figure for a priced example
    row = next(r for r in table.splitlines() if r.startswith("| pytorch-ddp-multi-gpu |"))
    rec = _rec(ruleset, **_example("pytorch-ddp-multi-gpu"))
    assert f"= ${rec.top['cost']['estimate_usd']:,.2f}" in row


def _example(name: str) -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load((REPO / "examples" / f"{name}.yml").read_text())
    return loaded


def test_a_budget_no_plan_meets_says_so_and_what_would_change_it(ruleset: RuleSet) -> None:
    answers = _example("pytorch-ddp-multi-gpu")
    hardware = _rec(ruleset, **answers, budget_usd=10).decisions["hardware"]
    said = [w for w in hardware["warnings"] if "budget" in w]
    assert said and "No plan fits the $10 budget" in said[0]
    assert "a budget of at least $" in said[0]
    roomy = _rec(ruleset, **answers, budget_usd=100_000).decisions["hardware"]
    assert not any("budget" in w for w in roomy.get("warnings") or [])
    # the budget does not change the plan: it is still the cheapest that meets the deadline
    assert roomy["machine_type"] == hardware["machine_type"]


def test_a_budget_with_a_tight_deadline_names_the_cheaper_slower_plan(ruleset: RuleSet) -> None:
    answers = {**_example("pytorch-ddp-multi-gpu"), "deadline_hours": 20, "budget_usd": 60}
    warnings = _rec(ruleset, **answers).decisions["hardware"]["warnings"]
    said = next(w for w in warnings if "budget" in w)
    assert "20-hour deadline" in said and "Spot VMs" in said


def test_the_boot_disk_holds_checkpoints_and_small_data_and_mounts_large_data(
    ruleset: RuleSet,
) -> None:
    small = _rec(ruleset, **_example("tabular-sklearn")).decisions["hardware"]
    assert small["boot_disk_size_gb"] == 100  # the API's default is the least asked for
    ddp = _rec(ruleset, **_example("pytorch-ddp-multi-gpu")).decisions["hardware"]
    # 30 GB system + 2 x 9.6 GB checkpoints (600M x 16 bytes) + 150 GB of data
    assert ddp["boot_disk_size_gb"] == 200
    big = _rec(ruleset, **{**_example("pytorch-ddp-multi-gpu"), "data_size_gb": 5000})
    hardware = big.decisions["hardware"]
    assert hardware["boot_disk_size_gb"] == 100
    assert "/gcs mount" in hardware["sizing"]["boot_disk"]


def test_the_generated_submit_passes_the_boot_disk_to_the_job(ruleset: RuleSet) -> None:
    from advisor.project.generate import build_project

    project = build_project(_example("pytorch-ddp-multi-gpu"), "examples/pytorch-ddp-multi-gpu")
    assert '"boot_disk_size_gb": 200}' in project.files["submit.py"]


def test_a_price_entry_must_say_whether_it_was_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_NO_CACHE", "1")
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    path = rules / "catalogue" / "automl.yaml"
    path.write_text(path.read_text().replace("    verified: true\n", "", 1))
    with pytest.raises(BadRuleFile, match="entry image_cloud: field 'verified'"):
        load_rules(rules)


def test_the_schema_lists_the_regions_the_catalogue_knows(ruleset: RuleSet) -> None:
    assert ruleset.catalogue is not None
    region = ruleset.questions.json_schema()["properties"]["region"]
    assert region["enum"] == list(ruleset.catalogue.regions)


def test_a_sharded_gpu_plan_for_pytorch_has_no_cannot_run_warning(ruleset: RuleSet) -> None:
    # 20B parameters on GPUs: the generated PyTorch trainer shards them with FSDP2
    rec = _rec(
        ruleset,
        task="text_classification",
        framework="pytorch",
        model_parameters=20_000_000_000,
        custom_ops=True,
    )
    hardware = rec.decisions["hardware"]
    assert hardware["choice"] == "multi_gpu" and "FSDP2" in hardware["sizing"]["sharding"]
    assert any("shards it over" in w for w in hardware["warnings"])
    assert not any("cannot run this plan" in w for w in hardware["warnings"])


def test_framework_reasons_name_only_prebuilt_training_containers_that_exist(
    ruleset: RuleSet,
) -> None:
    # audit A12: the reasons claimed prebuilt TPU (and Lightning) images that Vertex does not have
    import re

    from advisor.project.stacks import load_stacks

    assert ruleset.catalogue is not None
    training = {
        name.split(".py")[0]: entry
        for name, entry in ruleset.catalogue.containers.items()
        if entry["kind"] == "training"
    }
    images = {
        stack.name: {str(i).split(".py")[0] for i in stack.images.get("training", {}).values()}
        for stack in load_stacks()
    }
    named_any = False
    for rule in ruleset.rules["framework"]:
        names = re.findall(r"\b[a-z]+-(?:cpu|gpu|xla)\.\d+-\d+\b", rule.because)
        for name in names:
            named_any = True
            assert name in training, (rule.id, name)
            assert name in images[rule.then["choice"]], (rule.id, name)
        if "prebuilt" in rule.because:
            assert not re.search(
                r"prebuilt training containers on [^.;(]*TPUs", rule.because
            ), rule.id
    assert named_any


def test_a_bound_the_docs_do_not_give_is_not_applied(ruleset: RuleSet) -> None:
    # the HyperparameterTuningJobSpec and WorkerPoolSpec references document no maximum for
    # trial counts, parallel trials or replica counts, so the validator takes large values
    answers = {"max_trials": 5000, "parallel_trials": 300, "max_machines": 1000}
    valid = validate_answers(answers, ruleset.questions, "test")
    assert valid["max_trials"] == 5000 and valid["max_machines"] == 1000
    for question in ruleset.questions.questions:
        if question.max is not None:
            assert question.bounds_source, question.id


def test_a_question_bound_without_its_source_fails_to_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_NO_CACHE", "1")
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    path = rules / "questions.yaml"
    path.write_text(path.read_text().replace("    bounds_source: 'definition: a percentage'\n", ""))
    with pytest.raises(BadRuleFile, match="accuracy_drop_tolerance_pct: bounds_source"):
        load_rules(rules)
