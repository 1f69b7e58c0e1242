"""Checkpoint scanner: offline verification of signed QR passes on a Raspberry Pi."""

__version__ = "0.1.0"
