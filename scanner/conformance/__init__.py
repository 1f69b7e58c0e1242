"""Conformance runners: the EU DCC, rule and CertLogic suites through the project's own code."""
