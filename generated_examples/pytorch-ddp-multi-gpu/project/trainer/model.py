"""The model: image classification (a small CNN).

Everything the model needs at prediction time (input scaling, output units) lives in its buffers, so
the exported TorchScript file predicts from the inputs that trainer.data produces, with no code.
"""

from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

KIND = "classification"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Model hyperparameters; their names are the ids they are tuned under."""
    parser.add_argument("--channels", type=int, default=16, help="width of the first conv layer")
    parser.add_argument("--dropout", type=float, default=0.2)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SmallCNN(nn.Module):
    """Three conv blocks, global average pooling, a linear classifier (any input size)."""

    def __init__(self, num_classes: int, channels: int, dropout: float) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(3, channels),
            nn.MaxPool2d(2),
            _block(channels, channels * 2),
            nn.MaxPool2d(2),
            _block(channels * 2, channels * 4),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels * 4, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build_model(meta: dict[str, Any], opts: argparse.Namespace) -> nn.Module:
    return SmallCNN(meta["num_classes"], opts.channels, opts.dropout)


def blocks(net: nn.Module) -> list[nn.Module]:
    """The repeated blocks of the model (empty when it has none): sharded training wraps each."""
    return list(getattr(net, "blocks", []))


def loss_function() -> nn.Module:
    return nn.CrossEntropyLoss()


def batch_metrics(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Sums over a batch that add up across batches and processes: [loss, score, count].

    The score is the number of correct predictions (classification) or the absolute error.
    """
    output = output.float()
    loss = nn.functional.cross_entropy(output, target, reduction="sum")
    score = (output.argmax(dim=1) == target).sum().float()
    count = torch.tensor(float(target.shape[0]), device=output.device)
    return torch.stack([loss, score, count])


def summarize(sums: list[float]) -> dict[str, float]:
    """Validation metrics from the summed [loss, score, count]."""
    loss, score, rows = sums
    count = max(rows, 1.0)
    return {"val_loss": loss / count, "accuracy": score / count, "val_examples": int(rows)}


def export(model: nn.Module) -> torch.jit.ScriptModule:
    """TorchScript of a CPU model in eval mode: loads with torch.jit.load, without this code."""
    return torch.jit.script(model.eval())
