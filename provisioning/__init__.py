"""Technician and central-side tools: keys, passes, trust bundles, revocations, enrollment."""
