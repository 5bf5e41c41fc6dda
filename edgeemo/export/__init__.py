"""Exporting trained checkpoints to deployable formats (needs the ``train`` extra)."""
