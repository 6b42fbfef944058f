"""The sections a hub follows, the snapshots of their totals, their push tokens, and the case packs imported.

A snapshot holds only aggregates: per case key, country and kind of action, a count. Nothing else a section
sends is kept (sections.services.documents refuses a document that carries anything else). Rows here are
written only by sections.services.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from campaign.models import Campaign


class Section(models.Model):
    """Another installation of the movement (or any system serving the same JSON) whose totals this hub adds
    up. Fetched from `totals_url` when it has one; otherwise it pushes with a token or an organizer uploads
    its CSV."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    countries = CountryField(_("countries"), multiple=True, blank=True)
    totals_url = models.URLField(
        _("address of its totals"),
        max_length=500,
        blank=True,
        help_text=_(
            "Its public totals, for example https://amnesty.example.org/api/v1/totals. Leave empty for a "
            "section that pushes its totals with a token or sends a CSV file."
        ),
    )
    is_active = models.BooleanField(_("followed"), default=True, help_text=_("Unticked: not fetched, not counted."))
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    # What the fetching keeps between rounds (sections.services.fetching): the validators of the last answer,
    # the back-off, and the last problem in a form the page translates.
    etag = models.CharField(max_length=300, blank=True, editable=False)
    last_modified = models.CharField(max_length=100, blank=True, editable=False)
    next_fetch_at = models.DateTimeField(_("next fetch"), null=True, blank=True, editable=False)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True, editable=False)
    # The last time its figures arrived (or were confirmed unchanged): what "stale" is measured from.
    last_received_at = models.DateTimeField(_("figures last received"), null=True, blank=True, editable=False)
    problem = models.CharField(_("problem"), max_length=32, blank=True, editable=False)
    problem_detail = models.CharField(max_length=300, blank=True, editable=False)
    problem_at = models.DateTimeField(_("problem seen at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["name"]
        permissions = [("manage_sections", _("Can follow sections, accept their figures and share case packs"))]

    def __str__(self) -> str:
        return self.name

    def is_stale(self, now: datetime.datetime | None = None) -> bool:
        """No figures received for SECTIONS_STALE_AFTER_SECONDS: shown as stale, with its last figures."""
        if self.last_received_at is None:
            return True
        now = now or timezone.now()
        return (now - self.last_received_at).total_seconds() > settings.SECTIONS_STALE_AFTER_SECONDS


class SnapshotQuerySet(models.QuerySet):
    def current(self) -> SnapshotQuerySet:
        return self.filter(status=Snapshot.Status.CURRENT)

    def held(self) -> SnapshotQuerySet:
        return self.filter(status=Snapshot.Status.HELD)


class Snapshot(models.Model):
    """A section's totals as received at one moment. The current one replaces the previous one (which is
    deleted): receiving the same figures twice never counts them twice. One that falls sharply is held for
    an organizer instead, and the current one stands until they accept it."""

    class Status(models.TextChoices):
        CURRENT = "current", _("Counted")
        HELD = "held", _("Held: its total fell sharply")

    class Channel(models.TextChoices):
        FETCH = "fetch", _("Fetched")
        PUSH = "push", _("Pushed with a token")
        UPLOAD = "upload", _("Uploaded by an organizer")

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("section"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    channel = models.CharField(_("received"), max_length=16, choices=Channel.choices)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    # When the section says it computed them, if it says.
    generated_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    total = models.BigIntegerField(_("total"), default=0)
    # {case key: {kind: n}} and {case key: {country code or "unknown": {kind: n}}}: aggregates only.
    by_case = models.JSONField(default=dict)
    counts = models.JSONField(default=dict)
    # What was left out, for the organizer (cases of campaigns this hub does not follow).
    notes = models.JSONField(default=list)
    # Of the counts: the same figures received again change nothing.
    digest = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        verbose_name = _("snapshot of a section's totals")
        verbose_name_plural = _("snapshots of sections' totals")
        ordering = ["section", "status"]
        constraints = [
            models.UniqueConstraint(fields=["section", "status"], name="snapshot_one_per_section_and_status")
        ]

    def __str__(self) -> str:
        return f"{self.section} · {self.get_status_display()} · {self.total}"


class SectionToken(models.Model):
    """What a section that does not run Plume pushes its totals with. Only a hash is kept: the token itself is
    shown once, when it is created. A revoked token is refused, and its use is shown to the organizers."""

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="tokens", verbose_name=_("section"))
    digest = models.CharField(max_length=64, unique=True, editable=False)
    # Its first characters, so that an organizer can tell tokens apart.
    hint = models.CharField(_("begins with"), max_length=16, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("push token")
        verbose_name_plural = _("push tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.hint}…"


class CasePackImport(models.Model):
    """One case pack imported into this installation: where from, what it changed and what it left (the
    report), and the values it brought (the base the next pack's values are compared with, so a newer pack
    changes only what this installation has not changed itself)."""

    class Status(models.TextChoices):
        DONE = "done", _("Imported")
        FAILED = "failed", _("Refused")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("campaign")
    )
    campaign_key = models.CharField(_("campaign key"), max_length=100, blank=True)
    revision = models.CharField(_("revision"), max_length=40, blank=True)
    source = models.CharField(_("from"), max_length=500)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("imported by")
    )
    report = models.JSONField(_("report"), default=dict)
    base = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("case pack import")
        verbose_name_plural = _("case pack imports")
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.campaign_key or '?'} {self.revision}"
