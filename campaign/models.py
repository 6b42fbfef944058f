"""Editions of the marathon, the cases they put forward, and the ledger of counted actions.

`petitions` and `letters` hang off a `Case` and write what they count into `Tally` through
`campaign.lib.ledger`; this app never imports them.
"""

from __future__ import annotations

import datetime
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import CountryField

from .lib.languages import default_language, language_choices

# Paths the site uses right after the language prefix: a campaign with one of these slugs would be hidden.
RESERVED_SLUGS = frozenset({"petitions", "letters", "staff", "embed", "privacy", "api", "admin", "static", "media"})


_CASE_KEY = re.compile(r"[-a-zA-Z0-9_]+/[-a-zA-Z0-9_]+")


def validate_case_key(value: str) -> None:
    """A case's key: "<campaign key>/<case>", letters, digits, "-" and "_" only (it travels in URLs and JSON)."""
    if not _CASE_KEY.fullmatch(value):
        raise ValidationError(_("A key looks like “write-for-rights-2020/khaled-drareni”."))


def validate_campaign_slug(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(_("“%(slug)s” is a page of the site: choose another slug."), params={"slug": value})


class CampaignQuerySet(models.QuerySet):
    def public(self) -> CampaignQuerySet:
        return self.exclude(status=Campaign.Status.DRAFT)

    def current(self) -> Campaign | None:
        """The edition the home page shows: the most recent one that is not a draft."""
        return self.public().order_by("-opens_at").first()


class Campaign(models.Model):
    """One edition of the marathon, such as Write for Rights 2020."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft (not public)")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True, validators=[validate_campaign_slug])
    # The same edition in every installation of the movement (totals added up across sections, case packs
    # shared from one place): set once from the slug, or from a case pack, and never changed.
    key = models.SlugField(
        _("key"),
        max_length=100,
        unique=True,
        blank=True,
        help_text=_("The same edition in every installation. Set from the slug when empty; never change it."),
    )
    intro = models.TextField(_("introduction"), blank=True)
    default_language = models.CharField(
        _("default language"),
        max_length=8,
        choices=language_choices,
        default=default_language,
        help_text=_("The language the case texts are first written in."),
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    hashtag = models.CharField(
        _("hashtag"), max_length=60, blank=True, help_text=_("Added to suggested posts, for example #W4R20.")
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-opens_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")), name="campaign_closes_after_opening"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.key:
            self.key = self.slug
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("campaign:campaign", kwargs={"campaign": self.slug})

    def is_open(self, now: datetime.datetime | None = None) -> bool:
        """Whether supporters can act now: published and between opening and closing time."""
        now = now or timezone.now()
        return self.status == self.Status.PUBLISHED and self.opens_at <= now < self.closes_at


class CaseQuerySet(models.QuerySet):
    def public(self) -> CaseQuerySet:
        return self.filter(campaign__status__in=[Campaign.Status.PUBLISHED, Campaign.Status.ARCHIVED])


class Case(models.Model):
    """A person or group at risk that an edition puts forward."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        GOOD_NEWS = "good_news", _("Good news")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="cases", verbose_name=_("campaign"))
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"))
    # The same case in every installation (sections' totals are matched by it, case packs carry it): set once
    # from the campaign's key and the slug, or from a case pack, and never changed.
    key = models.CharField(
        _("key"),
        max_length=150,
        unique=True,
        blank=True,
        validators=[validate_case_key],
        help_text=_("The same case in every installation. Set when the case is created; never change it."),
    )
    country = CountryField(_("country"))
    role = models.CharField(_("role"), max_length=200, help_text=_("For example: journalist, student."))
    photo = models.ImageField(_("photo"), upload_to="cases/", blank=True)
    photo_alt = models.CharField(
        _("photo description"), max_length=300, blank=True, help_text=_("What the photo shows, for screen readers.")
    )
    summary = models.TextField(_("short story"), max_length=600)
    story = models.TextField(_("long story"), blank=True)
    ask = models.TextField(_("the ask"), help_text=_("What the authority is asked to do."))
    authority = models.CharField(_("authority to write to"), max_length=300)
    authority_address = models.TextField(_("postal address of the authority"), blank=True)
    # The petition handed over is printed in this language (its text, the cover letter).
    authority_language = models.CharField(
        _("language the authority reads"), max_length=8, choices=language_choices, blank=True
    )
    post_text = models.TextField(
        _("suggested solidarity post"),
        blank=True,
        max_length=500,
        help_text=_("Offered to supporters to post on social networks, with the campaign's hashtag."),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    outcome = models.TextField(_("outcome"), blank=True, help_text=_("The good news, shown in a banner."))
    outcome_date = models.DateField(_("date of the outcome"), null=True, blank=True)
    goal = models.PositiveIntegerField(_("goal (actions)"), default=100_000)
    closes_at = models.DateTimeField(
        _("closes at"), null=True, blank=True, help_text=_("Leave empty to close with the campaign.")
    )
    display_order = models.PositiveSmallIntegerField(_("display order"), default=0)
    # The petition stops taking signatures from then on (good news made its ask moot, for example) while the
    # case stays open for letters. Empty: the petition follows the case.
    petition_closed_at = models.DateTimeField(
        _("petition closed at"),
        null=True,
        blank=True,
        help_text=_("Leave empty while the petition takes signatures; letters go on either way."),
    )

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["display_order", "name"]
        constraints = [models.UniqueConstraint(fields=["campaign", "slug"], name="case_slug_unique_in_campaign")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.key:
            self.key = f"{self.campaign.key or self.campaign.slug}/{self.slug}"
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("campaign:case", kwargs={"campaign": self.campaign.slug, "slug": self.slug})

    @property
    def initials(self) -> str:
        """Shown in place of a photo when there is none."""
        words = [w for w in self.name.replace("-", " ").split() if w[:1].isalpha()]
        return "".join(w[0] for w in words[:2]).upper()

    def is_open(self, now: datetime.datetime | None = None) -> bool:
        """Whether supporters can act for this case now: its campaign is open and the case is not closed."""
        now = now or timezone.now()
        if self.closes_at is not None and now >= self.closes_at:
            return False
        return self.campaign.is_open(now)

    def petition_is_open(self, now: datetime.datetime | None = None) -> bool:
        """Whether the petition takes signatures now: the case is open and its petition was not closed (good
        news made its ask moot, for example: the admin asks, when an outcome is recorded). Letters follow
        `is_open` alone."""
        now = now or timezone.now()
        if self.petition_closed_at is not None and now >= self.petition_closed_at:
            return False
        return self.is_open(now)


class ActionKind(models.TextChoices):
    """The kinds of action the marathon counts (the words organizers use in their spreadsheets)."""

    SIGNATURE = "signature", _("Petition signature")
    LETTER = "letter", _("Letter")
    POSTCARD = "postcard", _("Postcard")
    DRAWING = "drawing", _("Drawing")
    EMAIL = "email", _("Email")
    TWEET = "tweet", _("Tweet")
    # A supporter opened a network's compose page from the case page with a suggested text: Plume cannot
    # know it was posted, so it counts "posts started here".
    POST = "post", _("Solidarity post started here")


class ActionSource(models.TextChoices):
    ONLINE = "online", _("Online")
    PAPER = "paper", _("Paper")
    EVENT = "event", _("Event")


class Tally(models.Model):
    """How many actions of one kind, from one source and country, counted for a case on one day.

    The one ledger every count in Plume flows through. Rows are only written by `campaign.lib.ledger`.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tallies", verbose_name=_("case"))
    kind = models.CharField(_("kind of action"), max_length=16, choices=ActionKind.choices)
    source = models.CharField(_("source"), max_length=16, choices=ActionSource.choices)
    # Empty when the country is not known.
    country = CountryField(_("country"), blank=True)
    day = models.DateField(_("day"))
    count = models.BigIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("tally")
        verbose_name_plural = _("tallies")
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "source", "country", "day"], name="tally_one_row_per_key")
        ]
        permissions = [("export_totals", _("Can see the dashboard and export totals"))]

    def __str__(self) -> str:
        return f"{self.case} {self.kind}/{self.source} {self.country or '-'} {self.day}: {self.count}"


# --- Organizers' rows (their workflows live in organizers/) ----------------------------------------------------------


class LocalGroup(models.Model):
    """A school, a branch or a club that reports its own events: its members sign in to report them and see
    the group's totals, nothing else. Their reports count once an organizer approves them."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    country = CountryField(_("country"), blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="local_groups", verbose_name=_("members")
    )
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Members of an inactive group see nothing."))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("local group")
        verbose_name_plural = _("local groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OfflineReportQuerySet(models.QuerySet):
    def current(self) -> OfflineReportQuerySet:
        """The latest revision of each report, counted or not."""
        return self.filter(is_current=True)

    def counted(self) -> OfflineReportQuerySet:
        """What the ledger counts: the latest revision of each report, once approved."""
        return self.filter(is_current=True, status=OfflineReport.Status.APPROVED)


class OfflineReport(models.Model):
    """Actions counted away from the site that an organizer reports afterwards ("our school wrote 240 letters
    for Khaled Drareni on 10 December").

    Never edited in place: a correction is a new revision that supersedes this one, so the history of who
    said what, and when, stays. Only current, approved revisions are counted in the ledger (source "event"):
    an organizer's report is approved as it is saved, a local group's or one sent from an event's link waits
    for an organizer. Written only through `organizers.offline_reports`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for an organizer")
        APPROVED = "approved", _("Approved (counted)")
        REJECTED = "rejected", _("Rejected")

    class Channel(models.TextChoices):
        ORGANIZER = "organizer", _("Entered by an organizer")
        LOCAL_GROUP = "local_group", _("Reported by a local group")
        EVENT_LINK = "event_link", _("Sent from an event's link")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="offline_reports", verbose_name=_("case"))
    kind = models.CharField(_("kind of action"), max_length=16, choices=ActionKind.choices)
    # Empty when the country is not known.
    country = CountryField(_("country"), blank=True)
    day = models.DateField(_("day of the actions"))
    count = models.PositiveIntegerField(_("number of actions"), help_text=_("Zero withdraws the report."))
    event_name = models.CharField(
        _("event or organisation"), max_length=200, blank=True, help_text=_("For example: Lycée Victor Hugo, Lyon.")
    )
    note = models.TextField(_("note"), blank=True, max_length=2000)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("corrects"),
    )
    is_current = models.BooleanField(_("current revision"), default=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.APPROVED)
    channel = models.CharField(_("reported through"), max_length=16, choices=Channel.choices, default=Channel.ORGANIZER)
    local_group = models.ForeignKey(
        LocalGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("local group"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    # Shown to the group that sent the report: why it does not count.
    decision_note = models.CharField(_("reason given"), max_length=300, blank=True)

    objects = OfflineReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("offline report")
        verbose_name_plural = _("offline reports")
        ordering = ["-entered_at"]
        indexes = [
            models.Index(fields=["is_current", "kind"], name="offlinereport_current_kind"),
            models.Index(fields=["status"], condition=models.Q(status="pending"), name="offlinereport_pending"),
        ]
        permissions = [("approve_offlinereport", _("Can approve the reports of local groups and events"))]

    def __str__(self) -> str:
        return f"{self.case} · {self.get_kind_display()} · {self.day}: {self.count}"

    def revisions(self) -> list[OfflineReport]:
        """This revision and every earlier one it corrects, newest first."""
        chain, report = [], self
        while report is not None:
            chain.append(report)
            report = report.supersedes
        return chain


def _export_expiry() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=settings.EXPORT_FILES_KEEP_HOURS)


class ExportJob(models.Model):
    """An export (of a kind registered in organizers/exports/) that a worker writes to a private file,
    reporting its progress on this row.

    Seen and downloaded only by people who may export totals (the requester and the other organizers);
    the file is deleted when it expires.
    """

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        XLSX = "xlsx", _("Excel (XLSX)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("requested by")
    )
    # A kind registered in organizers.exports (its label comes from there): a new kind needs no migration.
    kind = models.CharField(_("export"), max_length=16)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    # Empty: every campaign.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("campaign")
    )
    # Parameters of registered exports (the signatures of one case, of one country or all).
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("case")
    )
    # ISO code, or empty: every country.
    country = models.CharField(_("country"), max_length=2, blank=True)
    # Headers and labels are written in the language of the person who asked.
    language = models.CharField(_("language"), max_length=8, default=default_language)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    progress_done = models.BigIntegerField(_("rows written"), default=0)
    progress_total = models.BigIntegerField(_("rows to write"), default=0)
    # Relative to PRIVATE_MEDIA_ROOT: never reachable by a public URL.
    file = models.CharField(_("file"), max_length=255, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), default=_export_expiry)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.get_format_display()}) #{self.pk}"

    @property
    def country_name(self) -> str:
        return str(countries.name(self.country)) if self.country else ""

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(100 * self.progress_done / self.progress_total))

    @property
    def download_name(self) -> str:
        about = "".join(f"-{part}" for part in (self.case.slug if self.case else "", self.country.lower()) if part)
        return f"plume-{self.kind.replace('_', '-')}{about}-{self.created:%Y%m%d-%H%M}.{self.format}"
