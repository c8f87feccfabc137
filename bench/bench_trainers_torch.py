"""Throughput of the generated PyTorch trainer against a minimal hand-written loop.

Both train the same model (trainer/model.py) on the same data (trainer/data.py) with the same
batch size, each in its own process; the figure is training samples per second of the last epoch
(evaluation and checkpoints excluded), best of `--repeats` alternating runs (and the median
ratio of each pair). Time to first step is measured from process launch to the end of the first
optimizer step. Prints one JSON line.

The default row is the tabular MLP. `--fsdp` is the sharded row: the text transformer of a plan
that does not fit one device, trained fully sharded (FSDP2) by two CPU processes (gloo), against
a hand-written fully_shard loop over the same loader, both launched by torchrun.

    .venv/bin/python bench/bench_trainers_torch.py [--rows 50000] [--device cuda --amp]
    .venv/bin/python bench/bench_trainers_torch.py --fsdp [--rows 2000 --batch_size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.helpers.gen import render_to, trainer_run  # noqa: E402

# The baseline: the same model and data, a plain loop over shuffled index slices.
HAND_LOOP = r"""
import json, sys, time
import torch
from trainer import data, model
from trainer.task import build_parser

args = build_parser().parse_args(sys.argv[1:])
device = torch.device(args.device if args.device != "auto" else "cpu")
prepared = data.prepare(args.data, args)
x, y = (t.to(device) for t in (prepared.train.x, prepared.train.y))
net = model.build_model(prepared.meta, args).to(device)
optimizer = torch.optim.AdamW(net.parameters(), lr=args.learning_rate)
loss_fn = model.loss_function()
amp = bool(args.amp) and device.type == "cuda"
scaler = torch.amp.GradScaler(device.type, enabled=amp)
first = None
for epoch in range(args.epochs):
    tick = time.perf_counter()
    order = torch.randperm(len(y), device=device)
    steps = len(y) // args.batch_size
    for i in range(steps):
        index = order[i * args.batch_size : (i + 1) * args.batch_size]
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            loss = loss_fn(net(x[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if first is None:
            first = time.time()
    loss.item()
    seconds = time.perf_counter() - tick
print(json.dumps({"samples_per_second": steps * args.batch_size / seconds, "first_step": first}))
"""


# The sharded baseline: the same model and loader, each block then the model wrapped with
# fully_shard, a plain loop; rank 0 prints the global samples per second of the last epoch.
HAND_FSDP_LOOP = r"""
import json, sys, time
import torch
import torch.distributed as dist
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
from trainer import data, model
from trainer.task import build_parser

args = build_parser().parse_args(sys.argv[1:])
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(args.seed)
prepared = data.prepare(args.data, args)
loader = data.make_loader(
    prepared.train, args.batch_size, train=True, rank=rank, world_size=world, seed=args.seed
)
net = model.build_model(prepared.meta, args)
mesh = init_device_mesh("cpu", (world,))
for block in model.blocks(net):
    fully_shard(block, mesh=mesh)
fully_shard(net, mesh=mesh)
optimizer = torch.optim.AdamW(net.parameters(), lr=args.learning_rate)
loss_fn = model.loss_function()
first = None
for epoch in range(1, args.epochs + 1):
    data.set_epoch(loader, epoch)
    tick, samples = time.perf_counter(), 0
    for x, y in loader:
        loss = loss_fn(net(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        samples += len(y)
        if first is None:
            first = time.time()
    loss.item()
    seconds = time.perf_counter() - tick
if rank == 0:
    print(json.dumps({"samples_per_second": samples * world / seconds, "first_step": first}))
dist.destroy_process_group()
"""
# A plan the sizing shards (20B parameters on GPUs); the bench builds the same code small.
FSDP_ANSWERS = {
    "project_name": "bench",
    "framework": "pytorch",
    "task": "text_classification",
    "model_family": "transformer",
    "model_parameters": 20_000_000_000,
    "custom_ops": True,
}


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    launched = time.time()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{command} failed:\n{result.stderr[-3000:]}")
    return launched, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, help="default: 50000, with --fsdp 2000")
    parser.add_argument("--batch_size", type=int, help="default: 256, with --fsdp 64")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--amp", action="store_true", help="float16 autocast (CUDA)")
    parser.add_argument("--threads", default="", help="OMP_NUM_THREADS for both (default: torch's)")
    parser.add_argument("--fsdp", action="store_true", help="the sharded row: 2 CPU processes")
    parser.add_argument("--model_parameters", type=int, default=2_000_000, help="with --fsdp")
    options = parser.parse_args()
    if options.fsdp:
        options.device, options.amp = "cpu", False
    # the sharded row trains a transformer: fewer rows, and batches small enough that every
    # process takes a dozen steps an epoch
    options.rows = options.rows or (2_000 if options.fsdp else 50_000)
    options.batch_size = options.batch_size or (64 if options.fsdp else 256)

    env = {k: v for k, v in os.environ.items() if not k.startswith("AIP_")}
    if options.threads:
        env["OMP_NUM_THREADS"] = options.threads
    with tempfile.TemporaryDirectory() as folder:
        answers = (
            FSDP_ANSWERS
            if options.fsdp
            else {
                "project_name": "bench",
                "framework": "pytorch",
                "task": "tabular_classification",
            }
        )
        project = render_to(answers, Path(folder))
        subprocess.run(
            [sys.executable, "data/make_sample.py", f"--rows={options.rows}"],
            cwd=project,
            check=True,
            capture_output=True,
        )
        (project / "hand_loop.py").write_text(HAND_FSDP_LOOP if options.fsdp else HAND_LOOP)
        common = [
            f"--epochs={options.epochs}",
            f"--batch_size={options.batch_size}",
            f"--device={options.device}",
            "--amp" if options.amp else "--no-amp",
            "--patience=0",
        ]
        trainer_flags: list[str] = []
        hand_launch = [sys.executable, "hand_loop.py"]
        if options.fsdp:
            common += [f"--model_parameters={options.model_parameters}", "--fsdp", "--no-bf16"]
            trainer_flags = ["--nproc_per_node=2"]  # the trainer starts torchrun itself
            hand_launch = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
            hand_launch += ["--nproc_per_node=2", "hand_loop.py"]
        trainer, hand = [], []
        for repeat in range(options.repeats):
            out = project / f"out{repeat}"
            launched, _ = run([*trainer_run(out, *common), *trainer_flags], project, env)
            metrics = json.loads((out / "metrics.json").read_text())
            trainer.append(
                (metrics["train_samples_per_second"], metrics["first_step_unix_time"] - launched)
            )
            launched, stdout = run([*hand_launch, *common], project, env)
            result = json.loads(stdout.strip().splitlines()[-1])
            hand.append((result["samples_per_second"], result["first_step"] - launched))
    best_trainer, best_hand = max(t[0] for t in trainer), max(h[0] for h in hand)
    # Runs alternate, so a pair shares the machine's load at that moment.
    ratios = sorted(t[0] / h[0] for t, h in zip(trainer, hand, strict=True))
    import torch

    print(
        json.dumps(
            {
                "bench": (
                    "pytorch_fsdp_trainer_vs_hand_fully_shard_loop"
                    if options.fsdp
                    else "pytorch_tabular_trainer_vs_hand_loop"
                ),
                "processes": 2 if options.fsdp else 1,
                "device": options.device,
                "amp": options.amp,
                "torch": torch.__version__,
                "threads": options.threads or str(torch.get_num_threads()),
                "rows": options.rows,
                "batch_size": options.batch_size,
                "epochs": options.epochs,
                "trainer_samples_per_second": round(best_trainer, 1),
                "hand_loop_samples_per_second": round(best_hand, 1),
                "ratio": round(best_trainer / best_hand, 3),
                "median_pair_ratio": round(ratios[len(ratios) // 2], 3),
                "trainer_time_to_first_step_s": round(min(t[1] for t in trainer), 2),
                "hand_loop_time_to_first_step_s": round(min(h[1] for h in hand), 2),
            }
        )
    )


if __name__ == "__main__":
    main()
