"""Field capture: first contact recorded offline by mobile teams, sealed on the device.

The browser seals each submission to the organisation's intake public key with HPKE (RFC 9180,
``app.crypto.hpke`` and ``app/static/js/field-intake.js``); the device never holds a key that
opens it. Synced envelopes become pending field intakes (``app.field.models``) that the
caseworker turns into a new case or merges into an existing one after search before create.
"""
