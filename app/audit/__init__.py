"""The audit trail: one writer, a hash chain, checkpoints, verification, the auditor's views."""
