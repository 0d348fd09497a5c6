"""Writes to the shared directory: organisations, sites, safe spaces and services.

Each write is audited and commits. The admin screens call these; the demo and the set-up
command do too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.actions import Action, ObjectType
from app.audit.writer import record
from app.clock import utcnow
from app.core.versioning import Stale, check_version, saving
from app.db import db, transaction
from app.directory.models import (
    PLEDGE_TEXT_MAX,
    Organisation,
    OrganisationPledge,
    SafeSpace,
    Service,
    Site,
)
from app.submissions.service import Submission, claim


class DirectoryError(ValueError):
    """Bad input for a directory record; the message is safe to show."""


class DirectoryStale(DirectoryError, Stale):
    """Someone else saved the record first (``app.core.versioning``); nothing was saved."""

    message = _l("Someone else changed this record meanwhile. Nothing was saved: reload and "
                 "try again.")


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def known_time_zone(name: str | None) -> bool:
    """Whether ``name`` is an IANA time-zone name this machine knows (``Africa/Tripoli``)."""
    return bool(name) and name in _zone_names()


def clean_time_zone(name: str | None) -> str | None:
    """An organisation's time zone as typed: None (the instance's default) when empty, the
    name when known, else ``DirectoryError``."""
    name = (name or "").strip() or None
    if name is not None and not known_time_zone(name):
        raise DirectoryError(str(_l("Unknown time zone: use a name such as Africa/Tripoli.")))
    return name


def _checked(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with an organisation's time zone checked (``clean_time_zone``)."""
    out = dict(values)
    if "time_zone" in out:
        out["time_zone"] = clean_time_zone(out["time_zone"])
    return out


def _audited_save(obj: Any, action: Action, object_type: ObjectType,
                  submission: Submission | None = None) -> None:
    with transaction():
        db.session.add(obj)
        db.session.flush()
        record(action, object_type=object_type, object_id=obj.id)
        if submission is not None:
            claim(submission, object_type, obj.id)


def create_organisation(name: str) -> Organisation:
    """Add an organisation."""
    org = Organisation(name=name.strip())
    _audited_save(org, Action.ORGANISATION_CREATE, ObjectType.ORGANISATION)
    return org


def create_site(org: Organisation, name: str, code: str) -> Site:
    """Add a site of ``org``; ``code`` prefixes its case numbers."""
    site = Site(organisation_id=org.id, name=name.strip(), code=code.strip().upper())
    _audited_save(site, Action.SITE_CREATE, ObjectType.SITE)
    return site


def create_safe_space(org: Organisation, site: Site, name: str, kind: str = "static",
                      opened_on: Any = None) -> SafeSpace:
    """Add a safe space at one of ``org``'s sites."""
    if site.organisation_id != org.id:
        raise DirectoryError(str(_l("The site belongs to another organisation.")))
    space = SafeSpace(organisation_id=org.id, site_id=site.id, name=name.strip(), kind=kind,
                      opened_on=opened_on)
    _audited_save(space, Action.SAFE_SPACE_CREATE, ObjectType.SAFE_SPACE)
    return space


def create_service(org: Organisation, name: str, service_type: str,
                   sites: Sequence[Site] = ()) -> Service:
    """Add a service to the referral directory."""
    service = Service(organisation_id=org.id, name=name.strip(), service_type=service_type)
    service.sites = list(sites)
    _audited_save(service, Action.SERVICE_CREATE, ObjectType.SERVICE)
    return service


def create_record(model: type, values: Mapping[str, Any], *, action: Action, object_type: ObjectType,
                  submission: Submission | None = None) -> Any:
    """Add a directory record from a screen's values (``sites``: a service's sites), claiming
    the form's one-time ``submission`` in the same transaction."""
    values = _checked(values)
    new = model(**{k: v for k, v in values.items() if k != "sites"})
    if "sites" in values:
        new.sites = list(values["sites"])
    _audited_save(new, action, object_type, submission)
    return new


def update_record(obj: Any, values: Mapping[str, Any], *, expected_version: Any, action: Action,
                  object_type: ObjectType) -> None:
    """Apply edits to a directory record, refused when someone else saved it first."""
    check_version(obj, expected_version, DirectoryStale)
    values = _checked(values)
    with saving(obj, DirectoryStale):
        for key, value in values.items():
            setattr(obj, key, value)
        record(action, object_type=object_type, object_id=obj.id)


def get(model: type, record_id: uuid.UUID) -> Any:
    """Load a directory record by id (admins see all of them)."""
    return db.session.get(model, record_id)


# --- The confidentiality pledge ----------------------------------------------------------------

class PledgeError(DirectoryError):
    """A pledge refused; ``field`` names the form field the message belongs beside (or None)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


SUPERSEDED = _l("Another version of the pledge was published meanwhile. Nothing was published: "
                "read the current version, then publish yours again if it is still needed.")


def _pledge_text(value: str | None, field: str, *, required: bool) -> str | None:
    text = (value or "").strip() or None
    if text is None and required:
        raise PledgeError(field, str(_l("Write the text of the pledge.")))
    if text is not None and len(text) > PLEDGE_TEXT_MAX:
        raise PledgeError(field, str(_l("The text is too long: at most %(n)s characters.",
                                        n=PLEDGE_TEXT_MAX)))
    return text


def current_pledge(org: Organisation) -> OrganisationPledge | None:
    """The version of ``org``'s pledge its accounts accept now (None: it has published none)."""
    if org.pledge_number is None:
        return None
    return db.session.execute(
        select(OrganisationPledge).where(OrganisationPledge.organisation_id == org.id,
                                         OrganisationPledge.number == org.pledge_number)
    ).scalar_one_or_none()


def publish_pledge(org: Organisation, text_en: str | None, text_ar: str | None, *,
                   after: int | None, actor_id: uuid.UUID,
                   submission: Submission | None = None) -> OrganisationPledge:
    """Publish a new version of ``org``'s pledge (audited): every account of ``org`` must
    accept it before its next page. ``after`` is the version the author's form was built on:
    when another version was published meanwhile, nothing is published (``DirectoryStale``).
    A published version is never edited; a correction is a new version."""
    english = _pledge_text(text_en, "text_en", required=True)
    arabic = _pledge_text(text_ar, "text_ar", required=False)
    if after != org.pledge_number:
        raise PledgeError(None, str(SUPERSEDED))
    number = (org.pledge_number or 0) + 1
    pledge = OrganisationPledge(organisation_id=org.id, number=number, text_en=english,
                                text_ar=arabic, published_at=utcnow(), published_by_id=actor_id)
    try:
        with saving(org, DirectoryStale):
            org.pledge_number = number  # the organisation's version check: one publish wins
            db.session.add(pledge)
            db.session.flush()
            record(Action.PLEDGE_PUBLISH, object_type=ObjectType.PLEDGE, object_id=pledge.id,
                   reason=f"version={number}")
            if submission is not None:
                claim(submission, ObjectType.PLEDGE, pledge.id)
    except IntegrityError:
        raise PledgeError(None, str(SUPERSEDED)) from None
    return pledge
