"""The training package: `python -m trainer.task` trains the model."""
