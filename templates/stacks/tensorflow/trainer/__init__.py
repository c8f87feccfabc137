"""The training package: `python -m trainer.task`."""
