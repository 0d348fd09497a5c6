"""The shared directory: organisations, their sites, safe spaces and services.

Auth, cases, referrals, safe spaces and admin use it; it uses none of them (admin keeps only
the screens that edit it)."""
