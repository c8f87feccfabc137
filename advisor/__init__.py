"""advisor: a decision advisor and project generator for ML training on Vertex AI."""

__version__ = "0.1.0"
