"""Tamper-evident evidence and audit log: a hash chain, its verifier, retention and purge."""

from safeguard.evidence.chain import GENESIS, VerifyResult, append, records_for_case, verify

__all__ = ["GENESIS", "VerifyResult", "append", "records_for_case", "verify"]
