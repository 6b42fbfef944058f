"""Petition signatures, the per-domain rules that normalise their email addresses, and paper imports.

A `Signature` row is its own outbox (`OutboxFields`): the confirmation mail goes out from a periodic task,
never from the web request. Counting goes through `campaign.lib.ledger` (see `services.counting`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import threading
import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from campaign.lib.languages import default_language
from campaign.lib.outbox import OutboxFields
from campaign.models import Case


class EmailRule(models.Model):
    """How addresses at one domain are made comparable, so one person signs a petition once.

    gmail.com ignores dots and everything after a "+" in the part before the "@": "Ana.Lima+w4r@gmail.com"
    and "analima@gmail.com" are the same inbox. Seeded by a data migration; superusers can add more (organizers
    read them: one wrong rule on a big domain would merge strangers' signatures). A rule applies to signatures
    made after it; earlier ones keep the marker they were stored with.
    """

    domain = models.CharField(_("domain"), max_length=253, unique=True, help_text=_("For example: gmail.com"))
    ignore_dots = models.BooleanField(_("ignore dots before the @"), default=False)
    strip_plus_tag = models.BooleanField(_("ignore everything after a + before the @"), default=False)
    same_as = models.CharField(
        _("same mailboxes as"),
        max_length=253,
        blank=True,
        help_text=_("Another domain for the same mailboxes, for example googlemail.com is gmail.com."),
    )

    class Meta:
        verbose_name = _("email normalisation rule")
        verbose_name_plural = _("email normalisation rules")
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs) -> None:
        self.domain = self.domain.strip().lower()
        self.same_as = self.same_as.strip().lower()
        super().save(*args, **kwargs)


_rules_lock = threading.Lock()
_rules_cache: dict = {"loaded_at": 0.0, "rules": {}}
# Rules change rarely; each process reads them at most once a minute instead of once per signature.
RULES_CACHE_SECONDS = 60


def email_rules() -> dict[str, EmailRule]:
    with _rules_lock:
        if time.monotonic() - _rules_cache["loaded_at"] > RULES_CACHE_SECONDS:
            _rules_cache["rules"] = {rule.domain: rule for rule in EmailRule.objects.all()}
            _rules_cache["loaded_at"] = time.monotonic()
        return _rules_cache["rules"]


def forget_email_rules() -> None:
    """Called when a rule is saved or deleted, so this process applies it at once."""
    with _rules_lock:
        _rules_cache["loaded_at"] = 0.0


def normalise_email(email: str) -> str:
    """The form of an address used to tell whether two signatures come from the same inbox."""
    email = email.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at:
        return email
    rules = email_rules()
    rule = rules.get(domain)
    if rule is not None and rule.same_as:
        domain = rule.same_as
        rule = rules.get(domain, rule)
    if rule is not None:
        if rule.strip_plus_tag:
            local = local.split("+", 1)[0]
        if rule.ignore_dots:
            local = local.replace(".", "")
    return f"{local}@{domain}"


def email_marker(email_normalised: str) -> str:
    """The marker of one inbox ("" for no address): a keyed hash (HMAC-SHA256, 128 bits) of the normalised
    address, kept when the address is erased so that the same person still signs a petition once.

    It is pseudonymous, not anonymous: whoever holds the key (PETITION_EMAIL_MARKER_KEY, else SECRET_KEY) can
    tell whether a guessed address signed; without the key, nobody can. The HMAC is taken of the address's
    SHA-256, because that is what rows erased before markers existed kept: their markers are the same
    (migrations/0004_email_marker.py, which holds a copy of this to stay valid: keep the two in step).
    """
    if not email_normalised:
        return ""
    digest = hashlib.sha256(email_normalised.encode()).hexdigest()
    return hmac.new(
        _marker_key(settings.PETITION_EMAIL_MARKER_KEY or settings.SECRET_KEY), digest.encode(), "sha256"
    ).hexdigest()[:32]


@functools.lru_cache(maxsize=4)
def _marker_key(secret: str) -> bytes:
    # A key of its own, derived from the secret, so a marker never equals any other MAC made with SECRET_KEY.
    return hashlib.sha256(b"plume.petitions.email-marker:" + secret.encode()).digest()


class Channel(models.TextChoices):
    """Where a signature came from: the link a friend shared (by network), or the site itself."""

    WHATSAPP = "whatsapp", "WhatsApp"
    TELEGRAM = "telegram", "Telegram"
    FACEBOOK = "facebook", "Facebook"
    X = "x", "X"
    BLUESKY = "bluesky", "Bluesky"
    MASTODON = "mastodon", "Mastodon"
    EMAIL = "email", _("Email")
    LINK = "link", _("Copied link")
    SHEET = "sheet", _("The phone's share menu")
    MAIL = "mail", _("Link in our mail")


class SignatureQuerySet(models.QuerySet):
    def countable(self) -> SignatureQuerySet:
        """Confirmed and not flagged: what the ledger counts and the authority receives."""
        return self.filter(status=Signature.Status.CONFIRMED, flagged=False)

    def to_count(self) -> SignatureQuerySet:
        """Countable rows the rollup has not folded into the ledger yet."""
        return self.countable().filter(counted_at__isnull=True)

    def for_link(self, signature_id: int | None) -> Signature | None:
        """The few columns the page of a link in a mail needs (a signature row is wide; the case comes from
        the cache), or None."""
        if signature_id is None:
            return None
        return self.only("id", "status", "case_id", "share_code").filter(pk=signature_id).first()

    def for_authority(self, case: Case, country: str = "") -> SignatureQuerySet:
        """What the authority receives: the countable signatures of `case` (of one country, or all) in the
        order they came. Read names and countries only, never an email."""
        signatures = self.countable().filter(case=case)
        if country:
            signatures = signatures.filter(country=country)
        return signatures.order_by("pk")


class Signature(OutboxFields):
    """One person's signature on a case's petition, online or copied from a paper sheet."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        INVALIDATED = "invalidated", _("Invalidated")

    class Source(models.TextChoices):
        ONLINE = "online", _("Online")
        PAPER = "paper", _("Paper")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="signatures", verbose_name=_("case"))
    name = models.CharField(_("name"), max_length=200)
    # As typed, for the mail; empty for a paper signature without one.
    email = models.EmailField(_("email"), max_length=254, blank=True)
    # Lower-cased, with the domain's rules applied (for bulk invalidation by domain); blanked on erasure.
    email_normalised = models.CharField(_("normalised email"), max_length=254, blank=True)
    # email_marker(email_normalised), computed in Python so signing stays one INSERT, and kept on erasure: one
    # signature per inbox and petition, before and after the address is erased. The database default only serves
    # rows inserted in SQL without it (bench/export.py).
    email_marker = models.CharField(_("email marker"), max_length=32, blank=True, db_default="")
    country = CountryField(_("country"), blank=True)
    language = models.CharField(_("language"), max_length=8, default=default_language)
    wants_news = models.BooleanField(_("wants to hear how the case turns out"), default=False)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.ONLINE)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    flagged = models.BooleanField(_("flagged as suspicious"), default=False)
    flag_rule = models.CharField(_("flagged by rule"), max_length=32, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # Set in the transaction that adds the signature to the ledger (services.counting.count_signatures).
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    # Kept for rate limiting and fraud review only; blanked after PETITION_IP_RETENTION_DAYS.
    ip = models.GenericIPAddressField(_("network address"), null=True, blank=True)
    # How many "you already signed" / "here is a new link" mails this address asked for through the form.
    repeat_mails = models.PositiveSmallIntegerField(_("repeat mails"), default=0)
    created_at = models.DateTimeField(_("signed at"), auto_now_add=True, db_index=True)
    # Who brought whom, without tracking people (docs/supporters.md): a confirmed signer's own random code for
    # the link they share (never derived from their address; erased with it), and, on a friend's signature,
    # the code and channel of the link it came through. The database defaults serve rows inserted in SQL.
    share_code = models.CharField(_("share code"), max_length=16, blank=True, db_default="", default="")
    referral_code = models.CharField(_("came through the code"), max_length=16, blank=True, db_default="", default="")
    channel = models.CharField(
        _("came through"), max_length=12, blank=True, choices=Channel.choices, db_default="", default=""
    )
    paper_import = models.ForeignKey(
        "PaperImport",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="signatures",
        verbose_name=_("paper import"),
    )

    objects = SignatureQuerySet.as_manager()

    class Meta(OutboxFields.Meta):
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = [
            # The marker first: the same index finds a person's signatures on every case (new links, erasure
            # requests) and on one (a repeat).
            models.UniqueConstraint(
                fields=["email_marker", "case"],
                condition=~models.Q(email_marker=""),
                name="signature_one_per_person_and_case",
            )
        ]
        indexes = [
            *OutboxFields.Meta.indexes,
            models.Index(
                fields=["id"],
                condition=models.Q(status="confirmed", flagged=False, counted_at__isnull=True),
                name="signature_to_count",
            ),
            models.Index(fields=["created_at"], condition=models.Q(status="pending"), name="signature_unconfirmed"),
            models.Index(fields=["created_at"], condition=models.Q(ip__isnull=False), name="signature_with_ip"),
            models.Index(fields=["case", "status"], name="signature_case_status"),
            # Only confirmed signers have a code and only friends' signatures name one: both indexes stay small,
            # and signing (an INSERT with empty codes) does not enter them.
            models.Index(fields=["share_code"], condition=~models.Q(share_code=""), name="signature_share_code"),
            models.Index(
                fields=["referral_code"], condition=~models.Q(referral_code=""), name="signature_referral_code"
            ),
        ]
        permissions = [
            ("export_signatures", _("Can download the list of signatures for the authority")),
            ("invalidate_signatures", _("Can invalidate signatures")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"


class PaperImport(models.Model):
    """One CSV of paper petition sheets uploaded by an organizer, with the report of its rows."""

    class Kind(models.TextChoices):
        NAMED = "named", _("Named rows: name, country and optionally email")
        COUNTS = "counts", _("Counts per country: country, count")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="paper_imports", verbose_name=_("case"))
    kind = models.CharField(_("kind of file"), max_length=8, choices=Kind.choices, default=Kind.NAMED)
    event = models.CharField(_("event"), max_length=200, help_text=_("Where the sheets were signed."))
    day = models.DateField(_("day the sheets were signed"))
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    accepted = models.PositiveIntegerField(_("signatures counted"), default=0)
    rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    # [{"line": 3, "row": "...", "reason": "..."}]: shown to the organizer, never run as code.
    report = models.JSONField(_("rejected rows"), default=list, blank=True)

    class Meta:
        verbose_name = _("paper signatures import")
        verbose_name_plural = _("paper signatures imports")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.case} · {self.event} · {self.day}"


class PaperCount(models.Model):
    """Signatures counted on paper sheets of one country, when the sheets came as counts, not names.

    Kept so the nightly reconciliation can recount paper tallies from rows (services.counting.reconcile_signatures).
    """

    paper_import = models.ForeignKey(PaperImport, on_delete=models.CASCADE, related_name="counts")
    country = CountryField(_("country"), blank=True)
    count = models.PositiveIntegerField(_("count"))

    class Meta:
        verbose_name = _("paper count")
        verbose_name_plural = _("paper counts")

    def __str__(self) -> str:
        return f"{self.country or '-'}: {self.count}"


class OutcomeMailing(models.Model):
    """How a case turned out (its `outcome` text, in each signer's language), mailed once to every signer who
    ticked "tell me how this case turns out". Made by an organizer in the admin; one per case."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="outcome_mailing", verbose_name=_("case"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent by"),
    )
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    recipients = models.PositiveIntegerField(_("signers mailed"), default=0)

    class Meta:
        verbose_name = _("outcome mailing")
        verbose_name_plural = _("outcome mailings")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.case)


class OutcomeMail(OutboxFields):
    """One signer's copy of an outcome mailing: its own outbox row (sent by a periodic task)."""

    mailing = models.ForeignKey(OutcomeMailing, on_delete=models.CASCADE, related_name="mails")
    signature = models.OneToOneField(Signature, on_delete=models.CASCADE, related_name="outcome_mail")

    class Meta(OutboxFields.Meta):
        verbose_name = _("outcome mail")
        verbose_name_plural = _("outcome mails")
