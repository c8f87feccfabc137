"""Validation rows of a training table as a client sends them: raw feature values by column name.

The same steps as the trainer's data preparation (trainer/table.py: the checks, the split, the
feature columns), so `make serve-local` asks about exactly the rows the trainer validated on.
"""

from __future__ import annotations

import json
from typing import Any

from trainer import table


def validation_rows(
    path: str, opts: table.Options, classification: bool, rows: int
) -> list[dict[str, Any]]:
    frame = table.check_table(
        table.read_table(path),
        path,
        opts,
        classification=classification,
        numeric_label=not classification,
    )
    _, val_rows = table.split_rows(frame, path, opts)
    features = table.features_of(frame, opts).iloc[val_rows[:rows]]
    # to_json writes a missing value as null, as a client would send it
    return json.loads(features.to_json(orient="records"))


def options_from(meta: dict[str, Any]) -> table.Options:
    """The data flags the model was trained with, as preprocessing.json records them."""
    recorded = meta.get("data_options") or {"label_column": meta.get("label", table.LABEL_COLUMN)}
    return table.Options(**recorded)
