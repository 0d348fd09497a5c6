"""A check value for every key, so a wrong key stops start-up.

Creates ``key_checks`` and enrols the keys this instance has now (check values only; the keys
stay outside the database), as 0003 did for the key-encryption keys.

The check values are computed here, by a frozen copy of ``app.crypto.keychecks.check_value``
as it was when this migration was written (migration history does not change when the app
does). tests/test_migrations.py checks that the copy still agrees with the app; if the app's
check values ever change on purpose, a new migration recomputes the stored ones and this one
stays as it is.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:30:00

"""
import hashlib
import hmac
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The keys checked, as of this migration (app.keyfiles.SECRET_NAMES then); the app loads each
# into its configuration as KEY_<NAME>.
CHECKED = ("secret_key", "audit_hmac", "audit_signing", "index_root")
_DOMAIN = b"amana/key-check/v1|"


def check_value(name, key):
    """The check value of key ``name``: SHA-256 of the public key for the audit signing seed,
    else HMAC-SHA256 under the key of a constant naming it, truncated to 128 bits."""
    if name == "audit_signing":
        public = Ed25519PrivateKey.from_private_bytes(key).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(_DOMAIN + b"audit_signing|" + public).digest()
    return hmac.digest(key, _DOMAIN + name.encode("ascii"), "sha256")[:16]


def upgrade():
    op.create_table('key_checks',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('check_value', sa.LargeBinary(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_key_checks'))
    )

    now = datetime.now(UTC)
    rows = [{"name": name, "check_value": check_value(name, key), "created_at": now}
            for name in CHECKED if (key := current_app.config.get(f"KEY_{name.upper()}"))]
    table = sa.table('key_checks', sa.column('name', sa.String()),
                     sa.column('check_value', sa.LargeBinary()),
                     sa.column('created_at', sa.DateTime(timezone=True)))
    if rows:
        op.bulk_insert(table, rows)


def downgrade():
    op.drop_table('key_checks')
