"""Credential formats and the encodings they share (COSE_Sign1, base45, QR images)."""
