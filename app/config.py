"""Settings by environment.

Three environments: ``development`` (the default, used by ``make run``), ``testing`` and
``production``. The environment comes from ``AMANA_ENV``. Production refuses to start, with one
clear line, when a secret is missing or is a development value, or when a setting is unsafe.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import click
from limits import parse as parse_limit

from app.keyfiles import SECRET_NAMES, KeyFileError, kek_versions, load_keks, load_key

ENVIRONMENTS = ("development", "testing", "production")


class ConfigError(click.ClickException):
    """A setting or secret is missing or unsafe; the message is one line for the operator."""

    exit_code = 2


def database_uri(url: str | None, instance_path: Path) -> str:
    """Turn ``DATABASE_URL`` into a SQLAlchemy URI, refusing schemes we do not support."""
    if not url:
        return f"sqlite:///{instance_path / 'amana.db'}"
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError("DATABASE_URL is not a URL (expected sqlite:/// or postgresql://).")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return url
    if scheme in ("postgres", "postgresql", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    raise ConfigError(
        f"DATABASE_URL scheme '{scheme}' is not supported (use sqlite:/// or postgresql://)."
    )


def _owner_url_env(name: str) -> str | None:
    """The owner's connection for migrations, or None; PostgreSQL only (SQLite has no roles)."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    if raw.partition("://")[0].lower() not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise ConfigError(f"{name} must be a postgresql:// URL (SQLite has no database roles).")
    return database_uri(raw, Path("."))


_ROLE_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _role_env(name: str) -> str | None:
    """A PostgreSQL role name (lower case letters, digits and underscores), or None."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    if not _ROLE_RE.fullmatch(raw):
        raise ConfigError(f"{name} must be a role name of lower-case letters, digits and "
                          "underscores (at most 63).")
    return raw


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive.")
    return value


# Independent audit chains the writers spread over (app.audit.writer); the migrations make 16
# heads. None: the engine's default (4 on PostgreSQL, 1 on SQLite, which has one writer anyway).
AUDIT_CHAINS_MAX = 16


def _chains_env(name: str) -> int | None:
    if not os.environ.get(name):
        return None
    value = _int_env(name, 1)
    if value > AUDIT_CHAINS_MAX:
        raise ConfigError(f"{name} is {value}: at most {AUDIT_CHAINS_MAX} audit chains.")
    return value


# Small-cell suppression of the statistics (app.reports): every published count below k is
# withheld. Below 3 a withheld cell would narrow to almost nothing, so start-up refuses it.
STATS_MIN_COUNT_FLOOR = 3


def _min_count_env(name: str, default: int) -> int:
    value = _int_env(name, default)
    if value < STATS_MIN_COUNT_FLOOR:
        raise ConfigError(f"{name} is {value}: the statistics' smallest published count must be "
                          f"at least {STATS_MIN_COUNT_FLOOR} (default {default}).")
    return value


# Argon2id password hashing (app/auth/passwords.py): RFC 9106's second recommended option,
# above the ASVS 5.0 / OWASP minimum. Each can be set with AMANA_<NAME> (e.g. a lighter cost
# on a small demo machine); production refuses anything below the floor.
DEFAULT_ARGON2 = {"ARGON2_TIME_COST": 3, "ARGON2_MEMORY_KIB": 64 * 1024, "ARGON2_PARALLELISM": 4}
# OWASP's minimum for Argon2id: m = 19 MiB, t = 2, p = 1.
ARGON2_FLOOR = {"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_KIB": 19 * 1024, "ARGON2_PARALLELISM": 1}


def check_argon2(params: dict[str, int], *, production: bool) -> None:
    """Refuse Argon2 parameters Argon2 cannot use, and in production any below the floor."""
    if params["ARGON2_MEMORY_KIB"] < 8 * params["ARGON2_PARALLELISM"]:
        raise ConfigError("AMANA_ARGON2_MEMORY_KIB must be at least 8 KiB per lane "
                          "(8 x AMANA_ARGON2_PARALLELISM).")
    if production:
        for name, floor in ARGON2_FLOOR.items():
            if params[name] < floor:
                raise ConfigError(f"AMANA_{name} is {params[name]}, below the safe minimum "
                                  f"{floor} for production (OWASP: m=19 MiB, t=2, p=1).")


def _argon2_env(production: bool) -> dict[str, int]:
    params = {name: _int_env(f"AMANA_{name}", default) for name, default in DEFAULT_ARGON2.items()}
    check_argon2(params, production=production)
    return params


def _limit_env(name: str, default: str) -> str:
    """A rate limit such as ``30 per 10 minutes`` (Flask-Limiter's notation), checked here so a
    typo stops the start instead of the first request."""
    raw = (os.environ.get(name) or "").strip() or default
    try:
        item = parse_limit(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a rate such as '30 per 10 minutes', not '{raw}'.") from None
    if item.amount <= 0:
        raise ConfigError(f"{name} must allow at least one request.")
    return raw


# A DNS name (ASCII; IDNA-encode others), optionally with a leading dot for "and every
# subdomain", or an IPv4 address, or an IPv6 address in brackets. No scheme, port or path.
_HOST_RE = re.compile(r"\.?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
                      r"|\[[0-9a-f:.]+\]")


def _mirror_env(name: str) -> str:
    """Where audit checkpoints are copied besides the instance folder: nothing, ``syslog`` or
    an absolute file path (best on another volume)."""
    raw = (os.environ.get(name) or "").strip()
    if raw and raw != "syslog" and not os.path.isabs(raw):
        raise ConfigError(f"{name} must be 'syslog' or an absolute file path, not '{raw}'.")
    return raw


def _hosts_env(name: str) -> list[str]:
    """Comma-separated host names, e.g. ``amana.example.org,www.amana.example.org``."""
    hosts = [h.strip().lower() for h in (os.environ.get(name) or "").split(",") if h.strip()]
    for host in hosts:
        if not _HOST_RE.fullmatch(host):
            raise ConfigError(f"{name}: '{host}' is not a host name (give names such as "
                              "amana.example.org, comma-separated, without scheme, port or path).")
    return hosts


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_ADDRESS_RE = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")


def _choice_env(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices`` (case ignored), or ``default`` when unset."""
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not '{raw}'.")
    return raw


# A bearer token (RFC 6750's characters), long enough that guessing is hopeless.
_TOKEN_RE = re.compile(r"[A-Za-z0-9._~+/=-]{32,512}")


def _token_env(name: str) -> str | None:
    """A secret bearer token from the environment only, or None; never shown in a message."""
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return None
    if not _TOKEN_RE.fullmatch(raw):
        raise ConfigError(f"{name} must be at least 32 characters of letters, digits and . _ ~ + / "
                          "= - (e.g. the output of: python -c 'import secrets; "
                          "print(secrets.token_urlsafe(32))').")
    return raw


def _bool_env(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, not '{raw}'.")


def _smtp_env(production: bool) -> dict[str, Any]:
    """Optional email (app/notifications/email.py): without ``AMANA_SMTP_HOST`` it is off. The
    password is read from the environment only and never appears in a message."""
    host = (os.environ.get("AMANA_SMTP_HOST") or "").strip()
    cfg: dict[str, Any] = {
        "SMTP_HOST": host or None,
        "SMTP_PORT": _int_env("AMANA_SMTP_PORT", 587),
        "SMTP_USER": (os.environ.get("AMANA_SMTP_USER") or "").strip() or None,
        "SMTP_PASSWORD": os.environ.get("AMANA_SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _bool_env("AMANA_SMTP_STARTTLS", True),
        "SMTP_TIMEOUT": _int_env("AMANA_SMTP_TIMEOUT", 20),
        "MAIL_FROM": (os.environ.get("AMANA_MAIL_FROM") or "").strip() or None,
        "PUBLIC_URL": (os.environ.get("AMANA_PUBLIC_URL") or "").strip().rstrip("/") or None,
    }
    check_smtp(cfg, production=production)
    return cfg


def check_smtp(cfg: dict[str, Any], *, production: bool) -> None:
    """Refuse email settings that cannot work or would send a password in clear."""
    if not cfg["SMTP_HOST"]:
        return
    if bool(cfg["SMTP_USER"]) != bool(cfg["SMTP_PASSWORD"]):
        raise ConfigError("AMANA_SMTP_USER and AMANA_SMTP_PASSWORD go together: set both or neither.")
    if (cfg["SMTP_USER"] and not cfg["SMTP_STARTTLS"]
            and str(cfg["SMTP_HOST"]).lower() not in _LOCAL_HOSTS):
        raise ConfigError("AMANA_SMTP_STARTTLS is off: the SMTP password would cross the network "
                          "in clear. Turn STARTTLS on, or relay through a server on localhost.")
    if not cfg["MAIL_FROM"] or not _ADDRESS_RE.fullmatch(str(cfg["MAIL_FROM"])):
        raise ConfigError("AMANA_MAIL_FROM must be the sender's address (e.g. amana@example.org) "
                          "when AMANA_SMTP_HOST is set.")
    url = str(cfg["PUBLIC_URL"] or "")
    schemes = ("https://",) if production else ("https://", "http://")
    if not url.startswith(schemes) or len(url) <= len("https://"):
        raise ConfigError("AMANA_PUBLIC_URL must be the address users open Amana at "
                          f"({' or '.join(s + '...' for s in schemes)}) when AMANA_SMTP_HOST is set: "
                          "emails link to its login page.")


def _oidc_env(production: bool) -> dict[str, Any]:
    """Optional single sign-on (app/auth/oidc.py): one OpenID Connect provider for the
    instance, used by the organisations whose admins turn it on. Without ``AMANA_OIDC_ISSUER``
    it is off. The client secret is read from the environment only, never shown in a message."""
    issuer = (os.environ.get("AMANA_OIDC_ISSUER") or "").strip()
    cfg: dict[str, Any] = {
        "OIDC_ISSUER": issuer or None,
        "OIDC_CLIENT_ID": (os.environ.get("AMANA_OIDC_CLIENT_ID") or "").strip() or None,
        "OIDC_CLIENT_SECRET": os.environ.get("AMANA_OIDC_CLIENT_SECRET") or None,
        "OIDC_NAME": (os.environ.get("AMANA_OIDC_NAME") or "").strip()[:60] or None,
        "OIDC_TIMEOUT": _int_env("AMANA_OIDC_TIMEOUT", 5),
    }
    check_oidc(cfg, production=production)
    return cfg


def check_oidc(cfg: dict[str, Any], *, production: bool) -> None:
    """Refuse single sign-on settings that cannot work or would talk to the provider in clear."""
    issuer = str(cfg.get("OIDC_ISSUER") or "")
    if not issuer:
        return
    if not cfg.get("OIDC_CLIENT_ID") or not cfg.get("OIDC_CLIENT_SECRET"):
        raise ConfigError("AMANA_OIDC_CLIENT_ID and AMANA_OIDC_CLIENT_SECRET are needed when "
                          "AMANA_OIDC_ISSUER is set.")
    schemes = ("https://",) if production else ("https://", "http://")
    if not issuer.startswith(schemes) or len(issuer) <= len("https://") or "?" in issuer \
            or "#" in issuer:
        raise ConfigError("AMANA_OIDC_ISSUER must be the provider's issuer address "
                          f"({' or '.join(s + '...' for s in schemes)}), exactly as its discovery "
                          "document names it, without a query or fragment.")


def load_keys(env: str, instance_path: Path) -> dict[str, Any]:
    """The keys as settings (``KEY_<NAME>``, ``SECRET_KEY``), from the environment or ``instance/``.

    Every secret is required; of the key-encryption keys, those present are read (with the same
    rules) and at least one must be, but which versions are needed is the keyring's question
    (only enrolled, unretired ones): a retired KEK's file may be gone. ``KEY_KEK_1`` is kept
    when present, for account secrets sealed before envelope encryption.
    """
    production = env == "production"
    cfg: dict[str, Any] = {}
    try:
        for name in SECRET_NAMES:
            cfg[f"KEY_{name.upper()}"] = load_key(name, instance_path, production=production)
        keks = load_keks(instance_path, production=production) if kek_versions(instance_path) else {}
    except KeyFileError as exc:
        raise ConfigError(str(exc)) from None
    if not keks:
        hint = ("set AMANA_KEY_KEK_<N> or run 'AMANA_ENV=production flask --app app instance init'"
                if production else "run 'flask --app app instance init'")
        raise ConfigError(f"No key-encryption key (AMANA_KEY_KEK_<N> or {instance_path}/keys/"
                          f"kek_<N>.key); {hint}.")
    if 1 in keks:
        cfg["KEY_KEK_1"] = keks[1]
    cfg["SECRET_KEY"] = cfg["KEY_SECRET_KEY"]
    return cfg


def build_config(env: str, instance_path: Path, *, keys: bool = True) -> dict[str, Any]:
    """Return the settings for ``env``, with the keys (``load_keys``) unless ``keys`` is false."""
    if env not in ENVIRONMENTS:
        raise ConfigError(f"AMANA_ENV must be one of {', '.join(ENVIRONMENTS)}, not '{env}'.")
    production = env == "production"
    from app.field.settings import field_settings  # its own module: keeps this one short

    cfg: dict[str, Any] = {
        "AMANA_ENV": env,
        "DEBUG": False,
        "TESTING": env == "testing",
        "SQLALCHEMY_DATABASE_URI": database_uri(os.environ.get("DATABASE_URL"), instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Forms: a small limit stops abuse early. Only the attachment upload takes more
        # (ATTACHMENT_MAX_BYTES, app.security.larger_body); its file parts go to a temporary
        # file, never into MAX_FORM_MEMORY_SIZE.
        "MAX_CONTENT_LENGTH": 256 * 1024,
        # An attached file's limit (its request may be 64 KiB more: the form's few fields).
        "ATTACHMENT_MAX_BYTES": _int_env("AMANA_ATTACHMENT_MAX_MB", 10) * 1024 * 1024,
        # Images with more pixels are refused before they are decoded (decompression bombs).
        "ATTACHMENT_MAX_PIXELS": 40_000_000,
        "MAX_FORM_MEMORY_SIZE": 256 * 1024,
        "MAX_FORM_PARTS": 200,
        "SESSION_COOKIE_NAME": "__Host-amana" if production else "amana",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "SESSION_COOKIE_PATH": "/",
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "SESSION_IDLE_MINUTES": _int_env("AMANA_SESSION_IDLE_MINUTES", 15),
        "SESSION_ABSOLUTE_HOURS": _int_env("AMANA_SESSION_ABSOLUTE_HOURS", 8),
        "SESSION_WARNING_SECONDS": 120,
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_SSL_STRICT": production,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_STRATEGY": "moving-window",
        "LOGIN_ACCOUNT_MAX_FAILURES": _int_env("AMANA_LOGIN_MAX_FAILURES", 5),
        "LOGIN_LOCKOUT_MINUTES": _int_env("AMANA_LOGIN_LOCKOUT_MINUTES", 15),
        "LOGIN_ADDRESS_LIMIT": os.environ.get("AMANA_LOGIN_ADDRESS_LIMIT", "30 per 10 minutes"),
        "CASE_SEARCH_LIMIT": _limit_env("AMANA_SEARCH_LIMIT", "30 per 10 minutes"),
        # Candidates a search opens at most (best-scored first; about 1.5 ms each).
        "CASE_SEARCH_CANDIDATES": _int_env("AMANA_SEARCH_CANDIDATES", 200),
        **_argon2_env(production),
        "PASSWORD_RESET_HOURS": _int_env("AMANA_PASSWORD_RESET_HOURS", 24),
        "GRANT_APPROVAL_HOURS": _int_env("AMANA_GRANT_APPROVAL_HOURS", 72),
        "BREAK_GLASS_MINUTES": _int_env("AMANA_BREAK_GLASS_MINUTES", 60),
        # A dangerous action (app/auth/stepup.py) needs a second-factor proof this recent.
        "STEP_UP_MINUTES": _int_env("AMANA_STEP_UP_MINUTES", 5),
        # Passkeys (app/auth/passkeys.py): the relying party id (the site's domain, e.g.
        # amana.example.org) and the origin browsers report (https://amana.example.org). Empty:
        # the request's host, which AMANA_ALLOWED_HOSTS bounds in production. A passkey works only
        # on the domain it was registered on: set both when the site has several host names.
        "WEBAUTHN_RP_ID": (os.environ.get("AMANA_WEBAUTHN_RP_ID") or "").strip().lower() or None,
        "WEBAUTHN_ORIGIN": (os.environ.get("AMANA_WEBAUTHN_ORIGIN") or "").strip().rstrip("/")
        or None,
        # A key-encryption key older than this is due for rotation ('flask keys rotate'): the
        # admin's home page says when, and warns once it is overdue.
        "KEK_ROTATION_DAYS": _int_env("AMANA_KEK_ROTATION_DAYS", 365),
        # How long a form's one-time submission token is accepted, and its claim kept
        # (app.submissions): a retry within it shows the record already made.
        "SUBMISSION_TOKEN_HOURS": _int_env("AMANA_SUBMISSION_TOKEN_HOURS", 24),
        "CASE_RETENTION_DAYS": _int_env("AMANA_CASE_RETENTION_DAYS", 3650),
        # A case with no contact with the survivor for this many days is listed on the
        # caseworker's home page (app.cases.home_queries: what counts as contact).
        "NO_CONTACT_DAYS": _int_env("AMANA_NO_CONTACT_DAYS", 14),
        # Statistics: counts below this are withheld (small-cell suppression, app.reports).
        "STATS_MIN_COUNT": _min_count_env("AMANA_STATS_MIN_COUNT", 5),
        # ...and a count is reused for up to this many minutes after a change (never after a
        # consent decision or a deletion: app.reports.freshness); 0 counts again at every change.
        "STATS_RECOUNT_MINUTES": _int_env("AMANA_STATS_RECOUNT_MINUTES",
                                          0 if env == "testing" else 10),
        # The auditor's home page shows alert counts made up to this many minutes ago (counting
        # a week of the trail takes a moment); the Alerts page always counts afresh.
        "AUDIT_HOME_ALERT_MINUTES": _int_env("AMANA_AUDIT_HOME_ALERT_MINUTES",
                                             0 if env == "testing" else 5),
        # Signed checkpoints of the audit trail's head, kept outside the database
        # (app.audit.autocheckpoint): every N events and every T minutes, whichever first.
        "AUDIT_CHAINS": _chains_env("AMANA_AUDIT_CHAINS"),
        "AUDIT_CHECKPOINT_EVENTS": _int_env("AMANA_AUDIT_CHECKPOINT_EVENTS", 1000),
        "AUDIT_CHECKPOINT_MINUTES": _int_env("AMANA_AUDIT_CHECKPOINT_MINUTES", 15),
        # ...applied at the end of requests, unless the checkpoint timer does it (deploy/)
        "AUDIT_CHECKPOINT_IN_REQUESTS": _bool_env("AMANA_AUDIT_CHECKPOINT_IN_REQUESTS", True),
        "AUDIT_CHECKPOINT_FILE": str(instance_path / "audit" / "checkpoints.jsonl"),
        "AUDIT_CHECKPOINT_MIRROR": _mirror_env("AMANA_AUDIT_CHECKPOINT_MIRROR"),
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        # The time zone of organisations that name none (app/localtime.py): where days and
        # deadlines are counted and times shown. The programme works in Libya.
        "DEFAULT_TIMEZONE": os.environ.get("AMANA_DEFAULT_TIMEZONE", "Africa/Tripoli"),
        "LANGUAGES": {"en": "English", "ar": "العربية"},
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "HSTS": production,
        "TRUST_PROXY_HOPS": _int_env("AMANA_TRUST_PROXY_HOPS", 1) if production else 0,
        # The host names served (checked in app.security); required in production, where
        # wsgi.py refuses to start without them and the app answers 400 to everything.
        "ALLOWED_HOSTS": _hosts_env("AMANA_ALLOWED_HOSTS"),
        # Least privilege (app/dbroles.py): 'flask db upgrade' connects as the owner when this
        # is set, then grants the runtime role exactly what it needs. PostgreSQL only.
        "DATABASE_OWNER_URL": _owner_url_env("DATABASE_OWNER_URL"),
        "DB_RUNTIME_ROLE": _role_env("AMANA_DB_RUNTIME_ROLE"),
        # Seconds to wait for the database server to answer a connection (PostgreSQL).
        "DB_CONNECT_TIMEOUT": _int_env("AMANA_DB_CONNECT_TIMEOUT", 5),
        # Log lines (app.observability.logs): one JSON object per line, or plain text to read
        # in a terminal. Either way codes and ids only, never a name, note or query string.
        "LOG_FORMAT": _choice_env("AMANA_LOG_FORMAT", ("json", "text"),
                                  "json" if production else "text"),
        # The tests read records through pytest's caplog instead of standard error.
        "LOG_HANDLER": env != "testing",
        # /metrics (app.observability.routes) answers loopback, or anyone sending this token as
        # "Authorization: Bearer ..."; unset, only loopback. From the environment only.
        "METRICS_TOKEN": _token_env("AMANA_METRICS_TOKEN"),
        # Optional email telling a user who opted in that there are N new items (nothing more).
        **_smtp_env(production),
        # Optional single sign-on with one OpenID Connect provider (app/auth/oidc.py).
        **_oidc_env(production),
        # Field capture: envelope age, upload rate and size (app/field/settings.py).
        **field_settings(_int_env, _limit_env),
    }
    if keys:
        cfg.update(load_keys(env, instance_path))
    return cfg
