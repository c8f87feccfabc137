"""Start from pretrained weights (`--pretrained PATH`, a local path or gs:// URI).

PATH is a .safetensors file or a torch checkpoint: a state_dict saved with torch.save (this
trainer's state_dict.pt), its resumable checkpoint (last.pt, weights under "model"), a Lightning
checkpoint (under "state_dict") or a TorchScript model.pt. The weights load into the model as it
is built, before sharding and before the optimizer sees it. Keys a wrapper added ("net." of a
LightningModule, "module." of DDP, "_orig_mod." of torch.compile) are stripped when that makes
them match. A tensor of another shape (a model of another size, other columns or classes) is
refused, as are missing or unexpected keys unless --no-pretrained_strict.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import pickle
import struct
import zipfile

import fsspec
import torch

from trainer import data, storage

LOG = logging.getLogger("trainer")
# The dtype names of the safetensors format (an 8-byte little-endian header length, a JSON header
# of name -> dtype, shape, byte range, then the raw bytes): read here, so no extra package.
SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
PREFIXES = ("net.", "module.", "_orig_mod.")
SHOWN = 5  # keys named in a message


def apply(net: torch.nn.Module, args: argparse.Namespace) -> torch.nn.Module:
    """`net` with the weights of --pretrained loaded (unchanged without the flag)."""
    if args.pretrained:
        load_into(net, args.pretrained, strict=bool(args.pretrained_strict))
    return net


def load_into(net: torch.nn.Module, path: str, strict: bool = True) -> None:
    """Copy the weights in `path` into `net`; a data.DataError (exit 2) names the file when they
    do not fit it."""
    own = net.state_dict()
    state = align(read_weights(path), set(own))
    wrong = [
        f"{key} {tuple(value.shape)} (the model's {tuple(own[key].shape)})"
        for key, value in state.items()
        if key in own and value.shape != own[key].shape
    ]
    if wrong:
        raise data.DataError(
            f"--pretrained {path}: {len(wrong)} tensor(s) differ in shape from the model's:"
            f" {named(wrong)}. A checkpoint of another model size, or of other columns or"
            " classes? Build the model with the flags it was trained with (model_args in its"
            " preprocessing.json)."
        )
    missing = sorted(own.keys() - state.keys())
    unexpected = sorted(state.keys() - own.keys())
    if strict and (missing or unexpected):
        raise data.DataError(
            f"--pretrained {path} does not fit the model: missing {named(missing)}; unexpected"
            f" {named(unexpected)} (--no-pretrained_strict loads the keys that match)"
        )
    if missing or unexpected:
        LOG.warning(
            "--pretrained %s: kept the model's own %s; ignored %s",
            path,
            named(missing),
            named(unexpected),
        )
    net.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    LOG.info("loaded %d of %d tensors from %s", len(state) - len(unexpected), len(own), path)


def named(keys: list[str]) -> str:
    if not keys:
        return "none"
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def read_weights(path: str) -> dict[str, torch.Tensor]:
    """The tensors in a .safetensors file or a torch checkpoint, on the CPU."""
    try:
        with fsspec.open(storage.resolve(path), "rb") as handle:
            blob = handle.read()
    except FileNotFoundError:
        raise data.DataError(f"--pretrained {path}: no such file") from None
    if path.endswith(".safetensors"):
        return read_safetensors(blob, path)
    return state_dict_of(read_torch(blob, path), path)


def read_safetensors(blob: bytes, path: str) -> dict[str, torch.Tensor]:
    try:
        (size,) = struct.unpack("<Q", blob[:8])
        header = json.loads(blob[8 : 8 + size])
        header.pop("__metadata__", None)
        body = memoryview(blob)[8 + size :]
        tensors: dict[str, torch.Tensor] = {}
        for name, entry in header.items():
            start, end = entry["data_offsets"]
            dtype = SAFETENSORS_DTYPES[entry["dtype"]]
            flat = (
                torch.frombuffer(bytearray(body[start:end]), dtype=dtype)
                if end > start
                else torch.empty(0, dtype=dtype)
            )
            tensors[name] = flat.reshape(entry["shape"])
        return tensors
    except (struct.error, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as exc:
        raise data.DataError(f"--pretrained {path}: not a safetensors file ({exc})") from None


def read_torch(blob: bytes, path: str) -> object:
    """torch.load with weights_only (no code runs), or the weights of a TorchScript archive."""
    try:
        if is_torchscript(blob):
            return torch.jit.load(io.BytesIO(blob), map_location="cpu").state_dict()
        return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError) as exc:
        message = " ".join(str(exc).split()).split(". ")[0][:200]  # torch's first sentence
        raise data.DataError(f"--pretrained {path}: not a torch checkpoint ({message})") from None


def is_torchscript(blob: bytes) -> bool:
    """TorchScript archives are zip files with code/ and constants.pkl beside data.pkl."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return any(name.endswith("/constants.pkl") for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def state_dict_of(saved: object, path: str) -> dict[str, torch.Tensor]:
    """The weights in a loaded checkpoint: the object itself, or under "model" / "state_dict"."""
    if isinstance(saved, dict):
        for key in ("model", "state_dict"):
            if isinstance(saved.get(key), dict):
                saved = saved[key]
                break
    if not isinstance(saved, dict) or not all(isinstance(v, torch.Tensor) for v in saved.values()):
        raise data.DataError(
            f"--pretrained {path}: no state_dict in it (expected a dict of tensors, or one under"
            ' "model" or "state_dict")'
        )
    return {str(k): v for k, v in saved.items()}


def align(state: dict[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Strip a wrapper's prefix from every key while that makes more of them the model's."""
    while True:
        best = state
        for prefix in PREFIXES:
            if state and all(key.startswith(prefix) for key in state):
                stripped = {key[len(prefix) :]: value for key, value in state.items()}
                if len(expected & stripped.keys()) > len(expected & best.keys()):
                    best = stripped
        if best is state:
            return state
        state = best
