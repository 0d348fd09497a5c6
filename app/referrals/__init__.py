"""Consent-gated referrals: a sealed share of chosen fields, sent to one service."""
