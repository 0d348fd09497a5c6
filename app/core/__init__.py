"""The core every feature builds on: shared errors, optimistic locking, id parsing and the
in-process hooks through which one feature reacts to another without importing it.

Nothing in ``app.core`` imports a feature package (cases, referrals, safe spaces, admin)."""
