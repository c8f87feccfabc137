"""The hardware catalogue (rules/catalogue/*.yaml): what Vertex AI rents today, and at what price.

Accelerators with memory and peak throughput, the training configurations a worker pool can run
(machine, accelerator, count, hosts, regions, on-demand and Spot prices), regions, AutoML node-hour
prices and budget ranges, framework and container facts, and the constants of the sizing model.
Every entry names a public `source` and an `as_of` date; one without either is a broken file.
Validation is plain Python (no pydantic), and the loaded catalogue rides in the rule-set cache.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.errors import BadRuleFile
from advisor.ruleset.yamlcache import YamlCache

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_URL = re.compile(r"^https://\S+$")
# file -> (top-level key, whether it holds a list of entries or a mapping of named entries)
_SECTIONS = {
    "accelerators.yaml": ("accelerators", "mapping"),
    "machines.yaml": ("offers", "list"),
    "regions.yaml": ("regions", "mapping"),
    "automl.yaml": ("automl", "mapping"),
    "frameworks.yaml": ("frameworks", "mapping"),
    "containers.yaml": ("containers", "mapping"),
    "sizing.yaml": ("sizing", "single"),
    "prediction.yaml": ("prediction", "mapping"),
}
_OFFER_FIELDS = {
    "machine_type": str,
    "accelerator_count": int,
    "devices": int,
    "hosts": int,
    "vcpu": int,
    "ram_gb": (int, float),
    "hourly_usd": (int, float),
    "regions": list,
}


@dataclass(frozen=True)
class Offer:
    """One configuration a worker pool can run, priced per replica-hour."""

    machine_type: str
    accelerator_type: str | None  # as the API takes it (None for CPUs and v5e/v6e TPUs)
    accelerator: str | None  # the catalogue's accelerator entry
    accelerator_count: int
    devices: int  # GPUs or TPU chips per replica
    hosts: int
    vcpu: int
    ram_gb: float
    hourly_usd: float
    spot_hourly_usd: float | None  # None: Vertex offers no Spot VMs for it
    regions: tuple[str, ...]
    source: str
    as_of: str
    tpu_topology: str | None = None
    legacy: bool = False
    verified: bool = False  # the price was checked against a stored page (`checked`)
    checked: str | None = None

    @property
    def label(self) -> str:
        if not self.accelerator:
            return self.machine_type
        shape = f" {self.tpu_topology}" if self.tpu_topology else ""
        return f"{self.machine_type}{shape} ({self.devices} x {self.accelerator})"


@dataclass
class Catalogue:
    accelerators: dict[str, dict[str, Any]]
    offers: list[Offer]
    regions: dict[str, dict[str, Any]]
    automl: dict[str, dict[str, Any]]
    frameworks: dict[str, dict[str, Any]]
    containers: dict[str, dict[str, Any]]
    sizing: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    # prediction nodes with their prices, and the endpoint and batch settings (prediction.yaml)
    prediction: dict[str, dict[str, Any]] = field(default_factory=dict)

    def accelerator(self, name: str | None) -> dict[str, Any]:
        return self.accelerators.get(name or "", {})

    def kind(self, offer: Offer) -> str:
        """cpu, gpu or tpu."""
        return str(self.accelerator(offer.accelerator).get("kind", "cpu"))

    def automl_entry(self, model_type: Any) -> tuple[str, dict[str, Any]] | None:
        for name, entry in self.automl.items():
            if model_type in entry.get("model_types", ()):
                return name, entry
        return None

    def entries(self) -> list[tuple[str, str, Mapping[str, Any]]]:
        """Every sourced entry as (file, name, entry), for checks."""
        found: list[tuple[str, str, Mapping[str, Any]]] = []
        sections = ("accelerators", "regions", "automl", "frameworks", "containers", "prediction")
        for section in sections:
            for name, entry in getattr(self, section).items():
                found.append((f"{section}.yaml", name, entry))
        for offer in self.offers:
            found.append(("machines.yaml", offer.label, vars(offer)))
        found.append(("sizing.yaml", "sizing", self.sizing))
        return found


def load_catalogue(folder: Path, cache: YamlCache) -> Catalogue | None:
    """The catalogue under `folder`, or None when the rule set has none."""
    if not folder.is_dir():
        return None
    data: dict[str, Any] = {}
    files: dict[str, Path] = {}
    for name, (key, shape) in _SECTIONS.items():
        path = folder / name
        if not path.exists():
            raise BadRuleFile(f"{path}: the catalogue needs this file")
        raw = cache.load(path, BadRuleFile)
        body = raw.get(key) if isinstance(raw, Mapping) else None
        expected = {"list": list, "mapping": Mapping, "single": Mapping}[shape]
        if not isinstance(body, expected):
            raise BadRuleFile(f"{path}: expected a mapping with a '{key}' {shape}")
        files[key] = path
        data[key] = body
        entries = (
            [(str(i), e) for i, e in enumerate(body)]
            if shape == "list"
            else [(key, body)] if shape == "single" else list(body.items())
        )
        for entry_name, entry in entries:
            _check_sourced(path, entry_name, entry)
            if key in _PRICED:
                _check_verified(path, entry_name, entry)
    regions = dict(data["regions"])
    accelerators = dict(data["accelerators"])
    offers = [
        _offer(files["offers"], i, e, regions, accelerators) for i, e in enumerate(data["offers"])
    ]
    catalogue = Catalogue(
        accelerators,
        offers,
        regions,
        dict(data["automl"]),
        dict(data["frameworks"]),
        dict(data["containers"]),
        dict(data["sizing"]),
        files,
        prediction=dict(data["prediction"]),
    )
    _check_sizing(files["sizing"], catalogue)
    _check_prediction(files["prediction"], catalogue.prediction)
    return catalogue


# Sections holding prices: each entry says whether its figures were checked against a stored page.
_PRICED = ("offers", "automl")


def _check_verified(path: Path, name: str, entry: Mapping[str, Any]) -> None:
    where = f"{path}: entry {name}"
    verified = entry.get("verified")
    if not isinstance(verified, bool):
        raise BadRuleFile(
            f"{where}: field 'verified': true (checked against the page in 'checked') or false,"
            f" got {verified!r}"
        )
    budget = entry.get("budget_source")
    if "budget" in entry and (not isinstance(budget, str) or not _URL.match(budget)):
        raise BadRuleFile(
            f"{where}: field 'budget_source': the https:// URL documenting the budget range"
        )
    if not verified:
        return
    checked, on = entry.get("checked"), entry.get("checked_on")
    if not isinstance(checked, str) or not _URL.match(checked):
        raise BadRuleFile(f"{where}: field 'checked': the https:// URL the price was read on")
    if not isinstance(on, str) or not _DATE.match(on):
        raise BadRuleFile(f"{where}: field 'checked_on': needs a date YYYY-MM-DD, got {on!r}")


def _check_prediction(path: Path, entries: Mapping[str, Mapping[str, Any]]) -> None:
    """Machines have a price; the endpoint and batch settings name a priced machine and a
    replica range of at least one node."""
    machines = {n: e for n, e in entries.items() if e.get("kind") == "machine"}
    for name, entry in machines.items():
        price = entry.get("hourly_usd")
        if not isinstance(price, (int, float)) or isinstance(price, bool) or price <= 0:
            raise BadRuleFile(f"{path}: entry {name}: field 'hourly_usd': a positive price")
    for kind, low in (("endpoint", "min_replica_count"), ("batch", "starting_replica_count")):
        setting = entries.get(kind)
        if setting is None or setting.get("kind") != kind:
            raise BadRuleFile(f"{path}: entry {kind}: missing (kind: {kind})")
        if setting.get("machine_type") not in machines:
            raise BadRuleFile(
                f"{path}: entry {kind}: field 'machine_type': {setting.get('machine_type')!r} is"
                f" not a priced machine ({', '.join(machines)})"
            )
        target = setting.get("autoscaling_target_cpu_utilization", 60)
        if not (isinstance(target, int) and 1 <= target <= 100):
            raise BadRuleFile(
                f"{path}: entry {kind}: field 'autoscaling_target_cpu_utilization': a percentage"
            )
        first, most = setting.get(low), setting.get("max_replica_count")
        if not (isinstance(first, int) and isinstance(most, int) and 1 <= first <= most):
            raise BadRuleFile(
                f"{path}: entry {kind}: fields '{low}' and 'max_replica_count': whole numbers"
                f" with 1 <= {low} <= max_replica_count, got {first!r} and {most!r}"
            )


def _check_sourced(path: Path, name: str, entry: Any) -> None:
    where = f"{path}: entry {name}"
    if not isinstance(entry, Mapping):
        raise BadRuleFile(f"{where}: expected a mapping")
    source, as_of = entry.get("source"), entry.get("as_of")
    if not isinstance(source, str) or not _URL.match(source):
        raise BadRuleFile(f"{where}: field 'source': needs a public https:// URL, got {source!r}")
    if not isinstance(as_of, str) or not _DATE.match(as_of):
        raise BadRuleFile(
            f"{where}: field 'as_of': needs a date YYYY-MM-DD (quoted), got {as_of!r}"
        )


def _offer(
    path: Path,
    index: int,
    entry: Mapping[str, Any],
    regions: Mapping[str, Any],
    accelerators: Mapping[str, Any],
) -> Offer:
    where = f"{path}: offer {index} ({entry.get('machine_type', '?')})"
    for key, kind in _OFFER_FIELDS.items():
        value = entry.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):  # type: ignore[arg-type]
            raise BadRuleFile(f"{where}: field '{key}': missing or of the wrong type ({value!r})")
    unknown = [r for r in entry["regions"] if r not in regions]
    if unknown:
        raise BadRuleFile(
            f"{where}: field 'regions': unknown {', '.join(unknown)} (known: {', '.join(regions)})"
        )
    accelerator = entry.get("accelerator")
    if accelerator is not None and accelerator not in accelerators:
        raise BadRuleFile(f"{where}: field 'accelerator': unknown '{accelerator}'")
    spot = entry.get("spot_hourly_usd")
    if spot is not None and not (
        isinstance(spot, (int, float)) and 0 < spot <= entry["hourly_usd"]
    ):
        raise BadRuleFile(f"{where}: field 'spot_hourly_usd': a price below the on-demand one")
    if entry["hourly_usd"] <= 0:
        raise BadRuleFile(f"{where}: field 'hourly_usd': must be positive")
    return Offer(
        machine_type=entry["machine_type"],
        accelerator_type=entry.get("accelerator_type"),
        accelerator=accelerator,
        accelerator_count=entry["accelerator_count"],
        devices=entry["devices"],
        hosts=entry["hosts"],
        vcpu=entry["vcpu"],
        ram_gb=float(entry["ram_gb"]),
        hourly_usd=float(entry["hourly_usd"]),
        spot_hourly_usd=None if spot is None else float(spot),
        regions=tuple(entry["regions"]),
        source=entry["source"],
        as_of=entry["as_of"],
        tpu_topology=entry.get("tpu_topology"),
        legacy=bool(entry.get("legacy", False)),
        verified=bool(entry.get("verified")),
        checked=entry.get("checked"),
    )


_SIZING_NUMBERS = (
    "activation_fraction",
    "overhead_gb",
    "utilisation",
    "cpu_tflops_per_vcpu",
    "flops_per_parameter",
    "table_ram_factor",
    "gpu_table_factor",
)


def _check_sizing(path: Path, catalogue: Catalogue) -> None:
    sizing = catalogue.sizing
    for key in _SIZING_NUMBERS:
        value = sizing.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise BadRuleFile(f"{path}: field '{key}': needs a number >= 0, got {value!r}")
    if not isinstance(sizing.get("inputs"), Mapping):
        raise BadRuleFile(f"{path}: field 'inputs': a mapping of sizing inputs to answer ids")
    reference = sizing.get("reference")
    if reference not in catalogue.accelerators:
        raise BadRuleFile(f"{path}: field 'reference': '{reference}' is not an accelerator")
    for key in ("bytes_per_parameter", "scaling"):
        if not isinstance(sizing.get(key), Mapping):
            raise BadRuleFile(f"{path}: field '{key}': needs a mapping")
    disk = sizing.get("disk")
    if not isinstance(disk, Mapping):
        raise BadRuleFile(f"{path}: field 'disk': needs a mapping (the boot disk model)")
    for key in ("default_gb", "system_gb", "checkpoints_kept", "copy_data_up_to_gb"):
        value = disk.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise BadRuleFile(f"{path}: field 'disk.{key}': needs a number >= 0, got {value!r}")
    _check_sourced(path, "sizing.disk", disk)
