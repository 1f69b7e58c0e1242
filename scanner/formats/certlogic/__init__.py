"""CertLogic (the DCC rule language): an evaluator owned here, specified by the EU suite."""

from scanner.formats.certlogic.evaluate import CertLogicError, evaluate

__all__ = ["CertLogicError", "evaluate"]
