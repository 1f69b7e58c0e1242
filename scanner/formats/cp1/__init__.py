"""The pass format: base45 text, COSE_Sign1 envelopes, CWT claims (docs/pass-format.md)."""
