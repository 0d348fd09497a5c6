"""Backups of the database: create, verify, restore (``flask backup``)."""
