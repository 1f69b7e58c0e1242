"""Helpers the tests share: real brokers, databases, sample sites and bounded waits."""
