"""Train vision-ddp with PyTorch.

Task: image classification (a small CNN).
Target: multi_gpu, 4 x NVIDIA_TESLA_T4 per machine, 2 machine(s).
Distribution: pytorch_ddp.

    python -m trainer.task                 # one process; re-launches itself under torchrun when
                                           # there are several GPUs or machines
    torchrun --standalone --nproc_per_node=2 -m trainer.task --device cpu   # DDP on CPU (gloo)
    python -m trainer.task --fsdp --nproc_per_node=2 --device cpu   # sharded (FSDP2) on CPU

Vertex AI's PyTorch containers set MASTER_ADDR, MASTER_PORT, WORLD_SIZE (machines) and RANK (this
machine) but not LOCAL_RANK, so one process per GPU needs a launcher: `torchrun_command` builds it.
Each process then has RANK = machine rank x GPUs per machine + LOCAL_RANK.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import math
import os
import subprocess
import sys
import time
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.algorithms.join import Join
from torch.nn.parallel import DistributedDataParallel

from trainer import data, experiments, pretrained, reporting, sharding, storage
from trainer import model as model_lib

LOG = logging.getLogger("trainer")
CHECKPOINT = "last.pt"
# Mixed precision (float16 autocast + GradScaler) when the recommendation asks for it; CUDA only.
AMP_DEFAULT = True
DISTRIBUTED = True
# Fully sharded data parallel: the sizing found no single device that holds the training state.
SHARDED = False


# The CNN learns faster at a higher rate, and a cosine decay settles its BatchNorm statistics by
# the last epoch (scikit-learn's digits: 0.98 validation accuracy in 10 epochs; 0.94 at 1e-3).
LEARNING_RATE = 3e-3
LR_SCHEDULE = "cosine"


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by every trainer. Tuned ones are named exactly as their Vertex AI ids."""
    dirs = reporting.default_dirs()
    parser.add_argument(
        "--data",
        default=os.environ.get("AIP_TRAINING_DATA_URI", data.DEFAULT_DATA),
        help="CSV or Parquet file (or glob), local or gs://",
    )
    parser.add_argument("--model_dir", default=dirs["model_dir"])
    parser.add_argument("--checkpoint_dir", default=dirs["checkpoint_dir"])
    parser.add_argument("--tensorboard_dir", default=dirs["tensorboard_dir"])
    parser.add_argument(
        "--metrics_path", default=None, help="default: metrics.json beside model_dir"
    )
    parser.add_argument("--learning_rate", type=float, default=LEARNING_RATE)
    parser.add_argument(
        "--lr_schedule",
        choices=["constant", "cosine"],
        default=LR_SCHEDULE,
        help="cosine: decay from --learning_rate to near 0 over --epochs (default: %(default)s)",
    )
    parser.add_argument("--batch_size", type=int, default=64, help="per process")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--weight_decay", type=float, default=0.0)
    parser.add_argument(
        "--patience",
        type=int,
        default=3,
        help="stop after this many epochs without a better val_loss (0: never)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--num_workers",
        type=int,
        default=-1,
        help="DataLoader workers (-1: auto; none for in-memory data on CPU)",
    )
    parser.add_argument(
        "--pretrained",
        default=None,
        help="start from these weights: a .safetensors file or a torch checkpoint, local or gs://",
    )
    parser.add_argument(
        "--pretrained_strict",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --pretrained: every key of the model must be in the file, and no other",
    )


def epoch_learning_rate(args: argparse.Namespace, epoch: int) -> float:
    """The learning rate of an epoch (from 1): a function of the epoch alone, so a run resumed
    from its checkpoint continues the same curve."""
    if args.lr_schedule == "constant":
        return float(args.learning_rate)
    return args.learning_rate * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / max(args.epochs, 1)))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_training_arguments(parser)
    data.add_arguments(parser)
    experiments.add_arguments(parser)
    model_lib.add_arguments(parser)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=AMP_DEFAULT,
        help="float16 autocast and loss scaling (CUDA only)",
    )
    parser.add_argument(
        "--fsdp",
        action=argparse.BooleanOptionalAction,
        default=SHARDED,
        help="shard parameters, gradients and optimizer state over the processes (FSDP2)",
    )
    parser.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --fsdp: bfloat16 compute where the GPU has it (float32 elsewhere)",
    )
    parser.add_argument(
        "--activation_checkpointing",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="with --fsdp: recompute each block's activations in the backward pass (less memory)",
    )
    parser.add_argument(
        "--nproc_per_node",
        type=int,
        default=0,
        help="processes per machine (0: one per visible GPU, else 1)",
    )
    return parser


# ---- processes ----


def wanted_processes(args: argparse.Namespace) -> int:
    if args.nproc_per_node > 0:
        return int(args.nproc_per_node)
    if args.device != "cpu" and torch.cuda.is_available():
        return torch.cuda.device_count()
    return 1


def torchrun_command(argv: list[str], nproc: int) -> list[str]:
    """torchrun for this machine, from the variables Vertex AI sets (or one local machine)."""
    nnodes = int(os.environ.get("WORLD_SIZE", "1"))
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}"]
    if nnodes > 1:
        command += [
            f"--nnodes={nnodes}",
            f"--node_rank={os.environ.get('RANK', '0')}",
            f"--master_addr={os.environ['MASTER_ADDR']}",
            f"--master_port={os.environ['MASTER_PORT']}",
        ]
    else:
        command.append("--standalone")
    return command + ["-m", "trainer.task", *argv]


def needs_launcher(args: argparse.Namespace) -> bool:
    """True in the first process of a multi-process run that nobody launched with torchrun."""
    if "LOCAL_RANK" in os.environ:
        return False
    return wanted_processes(args) > 1 or int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup_processes(args: argparse.Namespace) -> tuple[int, int, int, torch.device]:
    """(global rank, local rank, world size, device); joins the process group under torchrun."""
    use_cuda = args.device != "cpu" and torch.cuda.is_available()
    if args.device == "cuda" and not use_cuda:
        raise SystemExit("--device cuda: no CUDA device is visible")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if "LOCAL_RANK" not in os.environ:
        return 0, 0, 1, device
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")  # env:// from torchrun
    return dist.get_rank(), local_rank, dist.get_world_size(), device


def worker_count(requested: int, dataset: Any, device: torch.device) -> int:
    if requested >= 0:
        return requested
    if device.type != "cuda" and getattr(dataset, "batched", False):
        return 0  # in memory on CPU: workers would only add copies between processes
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min(4, (cpus or 1) - 1))


# ---- training ----


def train_epoch(
    net: torch.nn.Module,
    loader: torch.utils.data.DataLoader,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    loss_fn: torch.nn.Module,
    device: torch.device,
    amp: bool,
    on_first_step: Any,
    uneven: bool = False,
) -> tuple[float, int]:
    """One pass over this process's shard: (mean batch loss, samples seen). `uneven`: the
    processes' shards may take different numbers of steps; DDP's Join then stands in for a
    process that is done in the gradient all-reduces of those still training."""
    net.train()
    total = torch.zeros((), device=device)
    steps = samples = 0
    with Join([net]) if uneven else contextlib.nullcontext():
        for x, y in loader:
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            optimizer.zero_grad(set_to_none=True)
            if amp:  # float16 compute; the scaler keeps small gradients from underflowing
                with torch.autocast(device.type, dtype=torch.float16):
                    loss = loss_fn(net(x), y)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss = loss_fn(net(x), y)
                loss.backward()
                optimizer.step()
            if on_first_step is not None:
                on_first_step()
                on_first_step = None
            # Summed on the device: reading .item() every step would stall the GPU queue.
            total += loss.detach().float()
            steps += 1
            samples += len(y)
    return (total.item() / max(steps, 1)), samples


def per_process(count: int, rank: int, world_size: int, device: torch.device) -> list[int]:
    """Each process's `count`, in rank order (one all-reduce)."""
    if world_size == 1:
        return [count]
    counts = torch.zeros(world_size, dtype=torch.int64, device=device)
    counts[rank] = count
    dist.all_reduce(counts)
    return [int(c) for c in counts.tolist()]


@torch.no_grad()
def evaluate(
    net: torch.nn.Module, loader: torch.utils.data.DataLoader, device: torch.device, amp: bool
) -> dict[str, float]:
    """Metrics over the whole validation set; each process scores its shard with `net` unwrapped
    (shards may differ in length, so no collective may run per batch)."""
    if dist.is_initialized():
        for buffer in net.buffers():  # BatchNorm statistics: rank 0's, as in the saved model
            dist.broadcast(buffer, 0)
    net.eval()
    sums = torch.zeros(3, device=device)
    for x, y in loader:
        x = x.to(device, non_blocking=True)
        y = y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            output = net(x)
        sums += model_lib.batch_metrics(output, y)
    if dist.is_initialized():
        dist.all_reduce(sums)
    return model_lib.summarize(sums.tolist())


def validate(
    net: torch.nn.Module, loader: torch.utils.data.DataLoader, device: torch.device, amp: bool
) -> dict[str, float]:
    if sharding.is_sharded(net):
        return sharding.evaluate(net, loader, device)
    return evaluate(net, loader, device, amp)


def export(
    net: torch.nn.Module, meta: dict[str, Any], args: argparse.Namespace, metrics: dict[str, Any]
) -> None:
    """The chief writes model.pt (TorchScript), state_dict.pt, preprocessing.json, metrics.json."""
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    cpu_model = model_lib.build_model(meta, args)
    cpu_model.load_state_dict(state)
    scripted = model_lib.export(cpu_model)
    model_dir = storage.resolve(args.model_dir)
    storage.makedirs(model_dir)
    storage.write_atomic(storage.join(model_dir, "model.pt"), lambda f: torch.jit.save(scripted, f))
    storage.save_torch(state, storage.join(model_dir, "state_dict.pt"))
    meta = {**meta, "model_args": model_args(args)}
    storage.save_json(meta, storage.join(model_dir, "preprocessing.json"))
    path = storage.resolve(reporting.metrics_path(args.model_dir, args.metrics_path))
    storage.save_json(metrics, path)
    LOG.info("model written to %s, metrics to %s", args.model_dir, path)


def model_args(args: argparse.Namespace) -> dict[str, Any]:
    """The data and model flags the model was built with: `make optimize` rebuilds it from them,
    so a model trained with other sizes (a tuning trial's, say) needs no flags repeated."""
    parser = argparse.ArgumentParser(add_help=False)
    data.add_arguments(parser)
    model_lib.add_arguments(parser)
    return {name: getattr(args, name) for name in vars(parser.parse_args([]))}


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    rank, local_rank, world_size, device = setup_processes(args)
    chief = rank == 0
    torch.manual_seed(args.seed)
    if args.fsdp:
        sharding.join_alone()  # one process: a group of one, so the sharded code path is the same
    # float16 loss scaling is for replicas; a sharded model computes in bfloat16 instead
    amp = bool(args.amp) and device.type == "cuda" and not args.fsdp

    prepared = data.prepare(args.data, args)
    workers = worker_count(args.num_workers, prepared.train, device)
    loader_options = dict(
        rank=rank,
        world_size=world_size,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        seed=args.seed,
    )
    # A streamed table's processes each read their own shard once an epoch, so they may take
    # different numbers of steps: DDP's Join copes (FSDP has no Join: there every process takes
    # the same number of steps instead, trainer/stream_data.py).
    streamed = isinstance(prepared.train, torch.utils.data.IterableDataset)
    uneven = streamed and world_size > 1 and not args.fsdp
    train_loader = data.make_loader(
        prepared.train, args.batch_size, train=True, uneven=uneven, **loader_options
    )
    val_loader = data.make_loader(prepared.val, args.batch_size, train=False, **loader_options)

    # Pretrained weights go into the whole model: FSDP then shards the loaded values.
    net = pretrained.apply(model_lib.build_model(prepared.meta, args), args).to(device)
    parameters = sum(p.numel() for p in net.parameters())
    if args.fsdp:  # before the optimizer: it must hold the sharded parameters
        bf16 = bool(args.bf16) and sharding.bf16_available(device)
        net = sharding.shard(net, device, bf16, bool(args.activation_checkpointing))
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=args.learning_rate, weight_decay=args.weight_decay
    )
    scaler = torch.amp.GradScaler(device.type, enabled=amp)
    loss_fn = model_lib.loss_function()

    checkpoint_path = storage.join(storage.resolve(args.checkpoint_dir), CHECKPOINT)
    progress: dict[str, Any] = {"epoch": 0, "best_val_loss": math.inf, "bad_epochs": 0}
    if args.fsdp:
        checkpoint_path = storage.resolve(args.checkpoint_dir)
        progress = sharding.load(checkpoint_path, net, optimizer) or progress
        if progress["epoch"]:
            LOG.info("resumed from %s after epoch %d", checkpoint_path, progress["epoch"])
    elif storage.exists(checkpoint_path):
        saved = storage.load_torch(checkpoint_path)
        try:
            net.load_state_dict(saved["model"])
        except (RuntimeError, KeyError) as exc:
            # a checkpoint of another model (other columns, classes or sizes): say so, no traceback
            raise data.DataError(
                f"{checkpoint_path}: this checkpoint is of a different model"
                f" ({' '.join(str(exc).split())[:200]});"
                " delete it or pass another --checkpoint_dir"
            ) from None
        optimizer.load_state_dict(saved["optimizer"])
        scaler.load_state_dict(saved["scaler"])
        progress = saved["progress"]
        LOG.info("resumed from %s after epoch %d", checkpoint_path, progress["epoch"])
    resumed_from = int(progress["epoch"])

    if world_size > 1 and not args.fsdp:
        net = DistributedDataParallel(
            net, device_ids=[local_rank] if device.type == "cuda" else None
        )
    bare = net.module if isinstance(net, DistributedDataParallel) else net

    timing: dict[str, float] = {}

    def first_step() -> None:
        timing["time_to_first_step_s"] = time.perf_counter() - started
        timing["first_step_unix_time"] = time.time()

    run = experiments.start(args, enabled=chief)
    reporter = reporting.Reporter(args.tensorboard_dir, chief, run)
    metrics: dict[str, float] = {}
    per_rank: list[int] = []  # training rows each process read in the last epoch
    stopped_early = False
    for epoch in range(resumed_from + 1, args.epochs + 1):
        data.set_epoch(train_loader, epoch)
        for group in optimizer.param_groups:
            group["lr"] = epoch_learning_rate(args, epoch)
        torch.manual_seed(args.seed + epoch)  # dropout draws the same after a resume
        tick = time.perf_counter()
        train_loss, samples = train_epoch(
            net, train_loader, optimizer, scaler, loss_fn, device, amp,
            first_step if not timing else None, uneven,
        )  # fmt: skip
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - tick
        per_rank = per_process(samples, rank, world_size, device)
        metrics = {"train_loss": train_loss, **validate(bare, val_loader, device, amp)}
        metrics["train_samples_per_second"] = sum(per_rank) / max(seconds, 1e-9)
        reporter.epoch(epoch, metrics)

        improved = metrics["val_loss"] < progress["best_val_loss"]
        progress = {
            "epoch": epoch,
            "best_val_loss": min(metrics["val_loss"], progress["best_val_loss"]),
            "bad_epochs": 0 if improved else progress["bad_epochs"] + 1,
        }
        if args.fsdp:  # every process writes its shard
            sharding.save(checkpoint_path, net, optimizer, progress)
        elif chief:
            state = {
                "model": bare.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "progress": progress,
            }
            storage.save_torch(state, checkpoint_path)
        if args.patience and progress["bad_epochs"] >= args.patience:
            LOG.info("no better val_loss for %d epochs: stopping", args.patience)
            stopped_early = True
            break
    reporter.close()
    if not metrics:  # restarted after the last epoch: nothing left to train
        metrics = validate(bare, val_loader, device, amp)

    summary: dict[str, Any] = {
        **metrics,
        **timing,
        "epochs_completed": int(progress["epoch"]),
        "resumed_from_epoch": resumed_from,
        "stopped_early": stopped_early,
        "world_size": world_size,
        "train_examples_per_rank": per_rank,
        "device": device.type,
        "amp": amp,
        "sharded": bool(args.fsdp),
        "parameters": parameters,
        "local_parameters": sharding.local_parameters(net),
        "metric": {"id": reporting.METRIC_ID, "goal": reporting.METRIC_GOAL},
    }
    if args.fsdp:  # one consolidated model for serving, gathered on the chief
        state = sharding.consolidated(net)
        if chief:
            bare = model_lib.build_model(prepared.meta, args)
            bare.load_state_dict(state)
    if chief:
        export(bare, prepared.meta, args, summary)
    run.finish(summary)
    if dist.is_initialized():
        dist.barrier()
        # Free DDP's reducer before the process group: destroyed the other way round, gloo's
        # destructor can wait on its worker thread while the reducer's teardown holds the GIL.
        del net
        gc.collect()
        dist.destroy_process_group()
    return summary


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    if (DISTRIBUTED or args.fsdp) and needs_launcher(args):
        command = torchrun_command(argv, wanted_processes(args))
        LOG.info("launching %s", " ".join(command))
        return subprocess.call(command)
    try:
        run(args)
    except (FileNotFoundError, data.DataError) as exc:
        LOG.error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
