"""The sizing step: after a rule picks the hardware class, choose what to rent from the catalogue.

A hardware rule says the class (`choice`) and, in `size`, what sizing may pick: the device kind
(cpu, gpu, tpu), how many devices (`one` or `several`), single- or multi-host, and what must fit
(`model`: the training state on each device; `table`: the data in host memory). Sizing then
estimates the memory per device and the compute from the answers (the model is in
rules/catalogue/sizing.yaml), and picks the cheapest configuration offered in the answered
region that fits and meets the deadline. What it cannot do (nothing fits, the deadline is out of
reach, the generated code cannot shard) it says in warnings, with what would change it.
AutoML decisions get their node-hour price the same way. No rule or question is named here: the
answers it reads are mapped in the catalogue's `sizing.inputs`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advisor.ruleset.catalogue import Catalogue, Offer

_FIELDS = ("machine_type", "accelerator_type", "accelerator_count", "replica_count", "tpu_topology")


@dataclass(frozen=True)
class Need:
    """What the answers ask of the hardware."""

    parameters: int
    precision: str  # mixed, fp64
    state_gb: float  # weights, gradients and optimizer state
    table_gb: float  # host memory the data needs when the trainer loads it whole
    flops: float | None  # total training FLOPs, None when unknown
    given_hours: float | None  # hours the user states for one machine (classical frameworks)
    deadline_hours: float
    budget_usd: float  # 0: no budget
    data_gb: float
    max_machines: int
    region: str
    framework: str


@dataclass(frozen=True)
class Plan:
    offer: Offer
    replicas: int
    memory_gb: float  # needed per device (host RAM for CPU machines)
    capacity_gb: float
    sharded: bool
    hours: float | None

    @property
    def devices(self) -> int:
        return max(1, self.offer.devices) * self.replicas

    @property
    def hourly(self) -> float:
        return self.offer.hourly_usd * self.replicas

    @property
    def cost(self) -> float | None:
        return None if self.hours is None else self.hourly * self.hours

    @property
    def fits(self) -> bool:
        return self.memory_gb <= self.capacity_gb


def inputs(answers: Mapping[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    """The sizing inputs by their catalogue names (answers that are absent read as None)."""
    return {name: answers.get(qid) for name, qid in catalogue.sizing["inputs"].items()}


def need(answers: Mapping[str, Any], catalogue: Catalogue) -> Need:
    s = catalogue.sizing
    x = inputs(answers, catalogue)
    parameters = int(x.get("parameters") or 0)
    precision = "fp64" if x.get("float64") else "mixed"
    state_gb = parameters * s["bytes_per_parameter"][precision] / 1e9
    framework = str(x.get("framework") or "")
    in_memory = framework in s.get("in_memory_frameworks", ())
    data_gb = float(x.get("data_gb") or 0)
    table_gb = data_gb * s["table_ram_factor"] if in_memory else 0.0
    gpu_hours = float(x.get("gpu_hours") or 0)
    given = gpu_hours if in_memory and gpu_hours > 0 else None
    return Need(
        parameters=parameters,
        precision=precision,
        state_gb=state_gb,
        table_gb=table_gb,
        flops=None if in_memory else _flops(x, gpu_hours, precision, catalogue),
        given_hours=given,
        deadline_hours=float(x.get("deadline_hours") or 0),
        budget_usd=float(x.get("budget_usd") or 0),
        data_gb=data_gb,
        max_machines=max(1, int(x.get("max_machines") or 1)),
        region=str(x.get("region") or ""),
        framework=framework,
    )


def _flops(x: Mapping[str, Any], gpu_hours: float, precision: str, cat: Catalogue) -> float | None:
    s = cat.sizing
    if gpu_hours > 0:
        reference = cat.accelerator(s["reference"])
        return gpu_hours * 3600 * _peak(reference, precision) * 1e12 * float(s["utilisation"])
    parameters, examples = int(x.get("parameters") or 0), int(x.get("examples") or 0)
    if parameters <= 0 or examples <= 0:
        return None
    family = x.get("family")
    per_example = float(x.get("tokens_per_example") or 1)
    if family not in s.get("sequence_families", ()):
        per_example = float(s.get("reuse", {}).get(family, 1))
    epochs = max(1, int(x.get("epochs") or 1))
    return float(s["flops_per_parameter"]) * parameters * examples * epochs * per_example


def _peak(accelerator: Mapping[str, Any], precision: str) -> float:
    key = "fp64" if precision == "fp64" else "low_precision"
    return float(accelerator.get("tflops", {}).get(key, 0.0))


def _hours(offer: Offer, replicas: int, n: Need, cat: Catalogue) -> float | None:
    if n.given_hours is not None:
        return n.given_hours
    if n.flops is None:
        return None
    s = cat.sizing
    if cat.kind(offer) == "cpu":
        rate = offer.vcpu * s["cpu_tflops_per_vcpu"] * replicas
    else:
        rate = _peak(cat.accelerator(offer.accelerator), n.precision) * offer.devices * replicas
    hosts = offer.hosts * replicas
    devices = max(1, offer.devices) * replicas
    scale = 1.0 if devices == 1 else s["scaling"]["in_host" if hosts == 1 else "across_hosts"]
    effective = rate * 1e12 * s["utilisation"] * scale
    setup = float(s.get("setup_hours", 0.0))
    return math.inf if effective <= 0 else n.flops / effective / 3600 + setup


def _allowed(offer: Offer, size: Mapping[str, Any], n: Need, cat: Catalogue) -> bool:
    kind = cat.kind(offer)
    if kind != size.get("kind", "cpu") or offer.legacy or n.region not in offer.regions:
        return False
    accelerator = cat.accelerator(offer.accelerator)
    rules = cat.frameworks.get(n.framework, {})
    if kind == "gpu" and accelerator.get("compute_capability", 0) < rules.get(
        "min_compute_capability", 0
    ):
        return False
    if kind == "tpu":
        if n.precision == "fp64" or accelerator.get("generation") not in rules.get("tpu", ()):
            return False
        if bool(size.get("multi_host")) != (offer.hosts > 1):
            return False
    return not (size.get("devices") == "one" and offer.devices > 1)


def _plans(offer: Offer, size: Mapping[str, Any], n: Need, cat: Catalogue) -> list[Plan]:
    s = cat.sizing
    kind = cat.kind(offer)
    if kind == "tpu" or size.get("devices") == "one":
        counts = [1]  # a TPU slice is one worker pool; its size is the topology
    elif size.get("devices") == "several":
        counts = [n.max_machines]  # the machines the user accepts (the distribution reads it)
    else:
        # powers of two up to the machines allowed, and that number itself: the API documents
        # no replica limit, so a large answer must not make sizing try every count
        counts = sorted({2**k for k in range(n.max_machines.bit_length())} | {n.max_machines})
    plans = []
    for replicas in counts:
        devices = max(1, offer.devices) * replicas
        if size.get("devices") == "several" and devices < 2:
            continue
        hours = _hours(offer, replicas, n, cat)
        capacity = float(cat.accelerator(offer.accelerator).get("memory_gb", 0))
        if size.get("fit") == "table" or kind == "cpu":
            need_gb = n.table_gb if size.get("fit") == "table" else n.state_gb
            plan = Plan(offer, replicas, need_gb, offer.ram_gb, False, hours)
            if kind != "cpu" and n.table_gb:
                # the device holds the data too (a GPU DMatrix), over the devices it has
                on_device = n.table_gb / s["table_ram_factor"] * s["gpu_table_factor"] / devices
                if on_device / capacity > need_gb / offer.ram_gb:
                    plan = Plan(offer, replicas, on_device, capacity, False, hours)
            plans.append(plan)
            continue
        whole = n.state_gb * (1 + s["activation_fraction"]) + s["overhead_gb"]
        plans.append(Plan(offer, replicas, whole, capacity, False, hours))
        if devices > 1 and n.state_gb:
            shard = whole / devices + s["overhead_gb"] * (1 - 1 / devices)
            plans.append(Plan(offer, replicas, shard, capacity, True, hours))
    return plans


def _key(plan: Plan) -> tuple[float, float, float]:
    """Cheapest run first (to the dollar), then the cheaper hour, then the shorter run."""
    cost = plan.cost if plan.cost is not None else plan.hourly
    # an absurd answer (hours near the float limit) makes the cost infinite: it still sorts, and
    # the JSON writer refuses the figure with a message instead of a traceback here
    rounded = round(cost) if math.isfinite(cost) else math.inf
    return (rounded, plan.hourly, plan.hours if plan.hours is not None else 0.0)


def choose(size: Mapping[str, Any], n: Need, cat: Catalogue) -> tuple[Plan | None, list[str]]:
    """The plan to rent and what the user should know about it."""
    offers = [o for o in cat.offers if _allowed(o, size, n, cat)]
    plans = [p for o in offers for p in _plans(o, size, n, cat)]
    warnings: list[str] = []
    if not plans:
        return None, warnings
    fitting = [p for p in plans if p.fits and not p.sharded] or [p for p in plans if p.fits]
    if not fitting:
        best = max(plans, key=lambda p: (p.capacity_gb * p.devices, -p.hourly))
        return best, warnings
    cheapest = min(fitting, key=_key)
    if n.deadline_hours > 0:
        on_time = [p for p in fitting if p.hours is not None and p.hours <= n.deadline_hours]
        if not on_time:
            return min(fitting, key=lambda p: (p.hours or 0.0, p.hourly)), warnings
        plan = min(on_time, key=_key)
    else:
        plan = cheapest
    warnings += _over_budget(plan, cheapest, n)
    return plan, warnings


def _over_budget(plan: Plan, cheapest: Plan, n: Need) -> list[str]:
    """What to say when the chosen plan (the cheapest that meets the deadline) costs too much."""
    if n.budget_usd <= 0:
        return []
    if plan.cost is None:
        return [
            f"The training time is unknown, so the cost cannot be checked against the"
            f" ${n.budget_usd:,.0f} budget: give the hours on one modern GPU, or the examples and"
            " epochs, to get an estimate."
        ]
    if plan.cost <= n.budget_usd:
        return []
    changes = [f"a budget of at least ${plan.cost:,.0f}"]
    if cheapest is not plan and cheapest.cost is not None and cheapest.cost <= n.budget_usd:
        changes.append(
            f"a deadline of {math.ceil(cheapest.hours or 0):g} hours ({cheapest.offer.label}"
            f" costs ${cheapest.cost:,.0f})"
        )
    if plan.offer.spot_hourly_usd is not None and plan.hours is not None:
        spot = plan.offer.spot_hourly_usd * plan.replicas * plan.hours
        if spot <= n.budget_usd:
            changes.append(f"Spot VMs (about ${spot:,.0f}, if the job can be preempted)")
    changes.append("a smaller model, fewer examples or fewer epochs")
    return [
        f"No plan fits the ${n.budget_usd:,.0f} budget: the cheapest"
        + (
            f" that meets the {n.deadline_hours:g}-hour deadline"
            if n.deadline_hours > 0
            else " for this job"
        )
        + f" is {plan.offer.label} at ${plan.cost:,.0f} on demand. What would change it: "
        + "; ".join(changes)
        + "."
    ]


def size_hardware(
    result: dict[str, Any], answers: Mapping[str, Any], catalogue: Catalogue
) -> dict[str, Any]:
    """`result` (a hardware rule's output) with the configuration to rent and its figures."""
    size = result.pop("size", None)
    if not isinstance(size, Mapping):
        return result
    n = need(answers, catalogue)
    warnings = list(result.get("warnings") or [])
    if size.get("fixed"):
        _price_fixed(result, n, catalogue, warnings)
    else:
        plan, notes = choose(size, n, catalogue)
        warnings += notes
        if plan is None:
            _nothing_offered(result, size, n, catalogue, warnings)
        else:
            _apply(result, plan, size, n, catalogue, warnings)
    if warnings:
        result["warnings"] = warnings
    for key in ("sizing", "guide_answer"):  # today's configuration first, then how and the exam's
        if key in result:
            result[key] = result.pop(key)
    return result


def _apply(
    result: dict[str, Any],
    plan: Plan,
    size: Mapping[str, Any],
    n: Need,
    cat: Catalogue,
    warnings: list[str],
) -> None:
    offer = plan.offer
    result.update(
        machine_type=offer.machine_type,
        accelerator_type=offer.accelerator_type,
        accelerator_count=offer.accelerator_count,
        replica_count=plan.replicas,
    )
    if offer.tpu_topology:
        result["tpu_topology"] = offer.tpu_topology
    else:
        result.pop("tpu_topology", None)
    spot = (
        None if offer.spot_hourly_usd is None else round(offer.spot_hourly_usd * plan.replicas, 2)
    )
    hours = None if plan.hours is None else round(plan.hours, 1)
    result["hourly_usd"] = round(plan.hourly, 2)
    result["spot_hourly_usd"] = spot
    result["estimated_hours"] = hours
    unit = "host memory" if cat.kind(offer) == "cpu" else "memory per device"
    sizing: dict[str, Any] = {
        "offer": offer.label,
        "region": n.region,
        "devices": plan.devices if offer.accelerator else 0,
        "precision": n.precision,
        "memory_needed_gb": round(plan.memory_gb, 1),
        "memory_available_gb": round(plan.capacity_gb, 1),
        "fits": plan.fits,
        "price": f"${offer.hourly_usd:g}/h x {plan.replicas} = ${plan.hourly:.2f}/h",
        "price_as_of": offer.as_of,
        "price_source": offer.source,
        "price_verified": offer.checked if offer.verified else False,
    }
    if hours is not None:
        sizing["hours"] = _hours_arithmetic(plan, n, cat)
    if n.budget_usd > 0:
        sizing["budget_usd"] = n.budget_usd
    disk_gb, disk_note = boot_disk(n, cat)
    result["boot_disk_size_gb"] = disk_gb
    sizing["boot_disk"] = disk_note
    result["sizing"] = sizing
    if plan.sharded:
        frameworks = cat.frameworks.get(n.framework, {})
        stack = frameworks.get("sharding", {}).get(cat.kind(offer), "a sharded training stack")
        sizing["sharding"] = stack
        warnings.append(
            f"No single device holds the {plan.memory_gb * plan.devices:.0f} GB of training state:"
            f" the plan shards it over {plan.devices} devices ({plan.memory_gb:.1f} GB each) with"
            f" {stack}."
            + (
                ""
                if cat.kind(offer) in (frameworks.get("shards") or [])
                else " The generated trainer replicates the whole model on every device, so it"
                f" cannot run this plan as is: train with {stack} instead."
            )
        )
    rules = cat.frameworks.get(n.framework, {})
    if offer.hosts > 1 and rules.get("multi_host_tpu", True) is False:
        warnings.append(
            f"{offer.label} spans {offer.hosts} hosts, but the generated trainer"
            f" uses only one: {rules.get('multi_host_note', 'it is single-host')}. Train with"
            f" {rules.get('sharding', {}).get('tpu', 'a multi-host TPU stack')} instead."
        )
    if not plan.fits:
        where = _regions_that_fit(size, n, cat)
        warnings.append(
            f"Nothing {size.get('kind', 'cpu').upper()} in {n.region} holds this job: it needs"
            f" {plan.memory_gb:.0f} GB of {unit} and the largest offer has"
            f" {plan.capacity_gb:.0f} GB."
            + (
                " A streaming input (reading the data in chunks) removes the need to hold it."
                if size.get("fit") == "table"
                else ""
            )
            + (f" Regions that have one: {', '.join(where)}." if where else "")
        )
    if n.deadline_hours > 0 and plan.hours is not None and plan.hours > n.deadline_hours:
        warnings.append(
            f"No configuration offered in {n.region} finishes within the {n.deadline_hours:g}-hour"
            f" deadline: the fastest takes about {plan.hours:.0f} hours. A longer deadline, more"
            f" machines (max_machines is {n.max_machines}) or another region would change it."
        )


def boot_disk(n: Need, cat: Catalogue) -> tuple[int, str]:
    """The boot disk each replica gets (GB), and how it was sized."""
    d = cat.sizing["disk"]
    checkpoints = n.state_gb * float(d["checkpoints_kept"])
    copy = n.data_gb <= float(d["copy_data_up_to_gb"])
    data = n.data_gb if copy else 0.0
    wanted = float(d["system_gb"]) + checkpoints + data
    size = max(int(d["default_gb"]), math.ceil(wanted))
    how = (
        f"{d['system_gb']:g} GB system + {d['checkpoints_kept']:g} checkpoints x"
        f" {n.state_gb:.1f} GB"
        + (f" + {n.data_gb:g} GB of data copied to the disk" if copy and n.data_gb else "")
        + f" = {wanted:.0f} GB: {size} GB"
        + (" (the API's default and the least asked for)" if size == d["default_gb"] else "")
    )
    if not copy:
        how += (
            f"; the {n.data_gb:g} GB of data stays in Cloud Storage and is read through the /gcs"
            f" mount ({d['mount_source']})"
        )
    return size, how


def _hours_arithmetic(plan: Plan, n: Need, cat: Catalogue) -> str:
    if n.given_hours is not None:
        return f"{n.given_hours:g} h as stated for one machine"
    flops = n.flops or 0.0
    return (
        f"{flops:.3g} FLOPs / ({plan.devices} device(s) at"
        f" {cat.sizing['utilisation']:.0%} of peak) + {cat.sizing.get('setup_hours', 0):g} h"
        f" setup = {plan.hours:.1f} h"
    )


def _regions_that_fit(size: Mapping[str, Any], n: Need, cat: Catalogue) -> list[str]:
    found = []
    for region in cat.regions:
        if region == n.region:
            continue
        other = Need(**{**vars(n), "region": region})
        plan, _ = choose(size, other, cat)
        if plan is not None and plan.fits:
            found.append(region)
    return found


def _nothing_offered(
    result: dict[str, Any], size: Mapping[str, Any], n: Need, cat: Catalogue, warnings: list[str]
) -> None:
    where = _regions_that_fit(size, n, cat)
    guide = result.get("guide_answer") or {}
    result.update({key: guide[key] for key in _FIELDS if key in guide})
    result["sizing"] = {"region": n.region, "fits": False}
    result["hourly_usd"] = None
    result["spot_hourly_usd"] = None
    result["estimated_hours"] = None
    warnings.append(
        f"No {size.get('kind', 'cpu').upper()} configuration for {n.framework or 'this job'}"
        f" is offered in {n.region}."
        + (f" Regions that offer one: {', '.join(where)}." if where else "")
        + " The machine shown is the exam's answer, not one you can rent there."
    )


def _price_fixed(result: dict[str, Any], n: Need, cat: Catalogue, warnings: list[str]) -> None:
    """A configuration the rule fixed itself (a parameter-server cluster): price it."""
    machine = result.get("machine_type")
    offer = next((o for o in cat.offers if o.machine_type == machine and not o.accelerator), None)
    if offer is None:
        result["hourly_usd"] = None
        return
    machines = int(result.get("replica_count") or 1) + int(
        result.get("parameter_server_count") or 0
    )
    result["hourly_usd"] = round(offer.hourly_usd * machines, 2)
    result["spot_hourly_usd"] = (
        None if offer.spot_hourly_usd is None else round(offer.spot_hourly_usd * machines, 2)
    )
    given = n.given_hours if n.given_hours is not None else None
    result["estimated_hours"] = given
    result["sizing"] = {
        "region": n.region,
        "price": f"${offer.hourly_usd:g}/h x {machines} machines"
        f" = ${offer.hourly_usd * machines:.2f}/h",
        "price_as_of": offer.as_of,
        "price_source": offer.source,
        "fits": n.region in offer.regions,
    }
    if n.region not in offer.regions:
        warnings.append(f"{machine} is not offered for training in {n.region}.")


def size_automl(result: dict[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    """An AutoML decision with its node-hour price from the catalogue."""
    found = catalogue.automl_entry(result.get("model_type"))
    budget = result.get("budget_milli_node_hours")
    if found is None or not isinstance(budget, (int, float)):
        return result
    _, entry = found
    price = float(entry["node_hour_usd"])
    result["node_hour_usd"] = price
    result["estimate_usd"] = round(budget / 1000 * price, 2)
    result["price"] = (
        f"{budget:,} milli node hours = {budget / 1000:g} node hours x ${price:g}"
        f" = ${budget / 1000 * price:,.2f} (as of {entry['as_of']}, {entry['source']})"
    )
    return result
