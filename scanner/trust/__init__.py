"""Trust data on the device: keys, trust bundles, revocations, the trusted clock, their store."""
