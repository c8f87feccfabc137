"""Fully sharded data parallel training (FSDP2) and its checkpoints.

Every process holds 1/world_size of each parameter, gradient and optimizer state; a block's whole
weights exist only while it runs (all-gathered, then freed). The model is wrapped block by block,
so at most one block is gathered at a time. Checkpoints are torch.distributed.checkpoint folders
in which every process writes its own shard; `LATEST` names the last complete one.
"""

from __future__ import annotations

import json
import logging
import pathlib
import shutil
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
    apply_activation_checkpointing,
)
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard

from trainer import data, storage
from trainer import model as model_lib

LOG = logging.getLogger("trainer")
LATEST = "LATEST"
KEEP = 2  # checkpoint folders kept: the last one and the one before, in case the last is torn


def join_alone() -> None:
    """A process group of one, so a single process runs the same sharded code as many."""
    if not dist.is_initialized():
        dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)


def bf16_available(device: torch.device) -> bool:
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def wrap(net: torch.nn.Module, mesh: DeviceMesh, bf16: bool, checkpointing: bool) -> Any:
    """Wrap each block, then the whole model, with fully_shard over the mesh's processes."""
    # bfloat16 compute and all-gathers; gradients reduced and weights kept in float32
    policy = MixedPrecisionPolicy(
        param_dtype=torch.bfloat16 if bf16 else None, reduce_dtype=torch.float32
    )
    blocks = model_lib.blocks(net)
    if checkpointing and blocks:  # recompute each block's activations in the backward pass
        chosen = set(map(id, blocks))
        apply_activation_checkpointing(net, check_fn=lambda module: id(module) in chosen)
        blocks = model_lib.blocks(net)
    for block in blocks:
        fully_shard(block, mesh=mesh, mp_policy=policy)
    return fully_shard(net, mesh=mesh, mp_policy=policy)


def local_parameters(net: torch.nn.Module) -> int:
    """Parameters this process holds (its shards)."""
    return sum(
        p.to_local().numel() if hasattr(p, "to_local") else p.numel() for p in net.parameters()
    )


def consolidated(net: Any) -> dict[str, torch.Tensor]:
    """The whole model's weights on the chief's CPU (empty elsewhere); every process calls it."""
    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(net, options=options)


def is_sharded(net: torch.nn.Module) -> bool:
    return isinstance(net, FSDPModule)


def shard(net: torch.nn.Module, device: torch.device, bf16: bool, checkpointing: bool) -> Any:
    """Wrap each block, then the whole model, with fully_shard over all processes."""
    return wrap(net, init_device_mesh(device.type, (dist.get_world_size(),)), bf16, checkpointing)


def _folder(root: str, epoch: int) -> str:
    return storage.join(root, f"epoch-{epoch:05d}")


def save(root: str, net: Any, optimizer: torch.optim.Optimizer, progress: dict[str, Any]) -> None:
    """Every process writes its shards; then the chief points LATEST at the folder."""
    model_state, optimizer_state = get_state_dict(net, optimizer)
    folder = _folder(root, int(progress["epoch"]))
    dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=folder)
    if dist.get_rank() == 0:  # dcp.save returns once the metadata is written: it is complete
        marker = {"folder": folder.rsplit("/", 1)[-1], "progress": progress}
        storage.save_json(marker, storage.join(root, LATEST))
        _prune(root, int(progress["epoch"]))
    dist.barrier()


def _prune(root: str, epoch: int) -> None:
    for old in pathlib.Path(root).glob("epoch-*"):
        if int(old.name.split("-")[1]) <= epoch - KEEP:
            shutil.rmtree(old, ignore_errors=True)


def load(root: str, net: Any, optimizer: torch.optim.Optimizer) -> dict[str, Any] | None:
    """Restore the last complete checkpoint into the sharded model; its progress, or None."""
    if storage.is_remote(root):  # every process writes files: they need a mounted file system
        raise SystemExit(f"--checkpoint_dir {root}: sharded checkpoints need a local or /gcs path")
    marker_path = storage.join(root, LATEST)
    if not storage.exists(marker_path):
        return None
    with open(marker_path, encoding="utf-8") as f:
        marker = json.load(f)
    model_state, optimizer_state = get_state_dict(net, optimizer)
    state = {"model": model_state, "optimizer": optimizer_state}
    dcp.load(state, checkpoint_id=storage.join(root, marker["folder"]))
    set_state_dict(
        net, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"]
    )
    return marker["progress"]


@torch.no_grad()
def evaluate(
    net: Any, loader: torch.utils.data.DataLoader, device: torch.device
) -> dict[str, float]:
    """Validation metrics with the sharded model: every forward pass all-gathers, so all processes
    run as many passes as the longest shard; the extra ones repeat a batch and are not counted."""
    net.eval()
    sums = torch.zeros(3, device=device)
    for batch, counted in data.even_batches(loader, device):
        x, y = (t.to(device, non_blocking=True) for t in batch)
        output = net(x)
        if counted:
            sums += model_lib.batch_metrics(output, y)
    dist.all_reduce(sums)
    return model_lib.summarize(sums.tolist())
