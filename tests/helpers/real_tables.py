"""Small real tables that ship with scikit-learn, in the shape the trainer tests feed them."""

from __future__ import annotations

import numpy as np
import pandas as pd


def breast_cancer(label: str = "outcome") -> pd.DataFrame:
    """569 rows, 30 features, the label as `label` and a `patient_id` column to drop."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": label})
    frame.insert(0, "patient_id", np.arange(len(frame)))
    return frame
