"""Solidarity letters written by supporters, moderated by staff and delivered to families as digests.

A `Letter` is written on a case page, screened automatically (`flags`), claimed and then approved or
rejected by a moderator (`letters.services.moderation`), counted in the ledger when approved, and delivered to every
active `FamilyContact` of its case exactly once through a `Digest` (one `DigestItem` per letter and contact).
"""

from __future__ import annotations

import datetime
import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from campaign.lib.languages import default_language, language_choices
from campaign.lib.outbox import MailStatus, OutboxFields
from campaign.models import ActionKind, Case, ExportJob

# The languages a letter may be written in (and the word lists are kept for): those Plume ships first.
LETTER_LANGUAGES = [
    *settings.AVAILABLE_LANGUAGES.items(),
    ("de", _("German")),
    ("it", _("Italian")),
    ("pt", _("Portuguese")),
    ("nl", _("Dutch")),
    ("pl", _("Polish")),
    ("tr", _("Turkish")),
    ("ru", _("Russian")),
    ("zh-hans", _("Chinese")),
    ("ja", _("Japanese")),
    ("ko", _("Korean")),
    ("other", _("Another language")),
]


@deconstructible
class PrivateStorage(FileSystemStorage):
    """Files under settings.PRIVATE_MEDIA_ROOT, which no URL serves: only permission-checked views read them.

    The location is read from settings on every use (not frozen at import), so tests and operators can move it.
    """

    def __init__(self) -> None:
        super().__init__(base_url=None)

    @property
    def base_location(self):  # type: ignore[override]
        return settings.PRIVATE_MEDIA_ROOT

    @property
    def location(self):  # type: ignore[override]
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Private files have no public URL.")


private_storage = PrivateStorage()


class RejectionReason(models.Model):
    """Why a letter was not sent, picked by the moderator from a list staff can edit."""

    label = models.CharField(_("reason"), max_length=200, unique=True)
    active = models.BooleanField(_("offered to moderators"), default=True)
    display_order = models.PositiveSmallIntegerField(_("display order"), default=0)

    class Meta:
        verbose_name = _("rejection reason")
        verbose_name_plural = _("rejection reasons")
        ordering = ["display_order", "label"]

    def __str__(self) -> str:
        return self.label


class FlaggedWord(models.Model):
    """A word or phrase that makes the pre-screen flag a letter in that language for a closer look."""

    language = models.CharField(_("language"), max_length=8, choices=LETTER_LANGUAGES)
    word = models.CharField(_("word or phrase"), max_length=100)

    class Meta:
        verbose_name = _("flagged word")
        verbose_name_plural = _("flagged words")
        ordering = ["language", "word"]
        constraints = [models.UniqueConstraint(fields=["language", "word"], name="flagged_word_unique")]

    def __str__(self) -> str:
        return f"{self.word} ({self.language})"


class LetterQuerySet(models.QuerySet):
    def pending(self) -> LetterQuerySet:
        return self.filter(status=Letter.Status.PENDING)

    def approved(self) -> LetterQuerySet:
        return self.filter(status=Letter.Status.APPROVED)

    def not_yet_sent_to(self, contact: FamilyContact) -> LetterQuerySet:
        """The approved letters of the contact's case that no digest of this contact holds (a digest holds its
        letters from the moment it is recorded as being sent: letters.services.digests)."""
        return self.approved().filter(case_id=contact.case_id).exclude(digest_items__contact=contact)

    def not_yet_printed_for(self, contact: FamilyContact) -> LetterQuerySet:
        """The approved letters of the contact's case that no letters pack of this contact holds (a pack holds
        its letters from the moment it is recorded as being built: letters.services.packs)."""
        return self.approved().filter(case_id=contact.case_id).exclude(pack_items__contact=contact)


class Letter(OutboxFields):
    """A solidarity message. The outbox fields carry the "your message was delivered" mail to the writer
    (`mail_status` stays `none` unless the writer gave an email address and consent)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for moderation")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    class AddressedTo(models.TextChoices):
        PERSON = "person", _("The person")
        FAMILY = "family", _("Their family")

    class Flag(models.TextChoices):
        """Reasons the automatic pre-screen asks for a closer look. One flag code is never part of another."""

        LINK = "link", _("Link in the text")
        PHONE = "phone", _("Phone number in the text")
        EMAIL = "email", _("Email address in the text")
        WORD = "word", _("Word from the list")
        REPEAT = "repeat", _("Same text as another letter")
        BOT = "bot", _("Sent like a robot would")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="letters", verbose_name=_("case"))
    addressed_to = models.CharField(
        _("addressed to"), max_length=8, choices=AddressedTo.choices, default=AddressedTo.PERSON
    )
    first_name = models.CharField(_("first name"), max_length=60)
    country = CountryField(_("country"))
    language = models.CharField(_("language"), max_length=8, choices=LETTER_LANGUAGES)
    text = models.TextField(_("message"))
    image = models.FileField(_("drawing or photo"), storage=private_storage, upload_to="letters/%Y/%m/", blank=True)
    # Only to tell the writer their message was delivered; erased once they are told or it is rejected.
    writer_email = models.EmailField(_("writer's email"), blank=True)
    writer_consent = models.BooleanField(_("writer agreed to be told of delivery"), default=False)
    # The language of the page the letter was written on: the delivery notice is sent in it.
    writer_language = models.CharField(_("language of the writer's page"), max_length=8, default=default_language)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.ForeignKey(
        RejectionReason, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("rejection reason")
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    # A moderator works on a letter from claiming it until the claim expires; others are told and skip it.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("claimed by"),
    )
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    # Space-separated Flag codes, and the reasons in words for the moderator.
    flags = models.CharField(_("flags"), max_length=100, blank=True)
    flag_notes = models.TextField(_("why it was flagged"), blank=True)
    text_hash = models.CharField(_("fingerprint of the text"), max_length=64, db_index=True, editable=False)
    created_at = models.DateTimeField(_("written at"), default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(_("first delivered at"), null=True, blank=True)
    # The delivery notice is queued by send_family_digest once the letter went out, never before.
    mail_status = models.CharField(_("mail"), max_length=8, choices=MailStatus.choices, default=MailStatus.NONE)

    objects = LetterQuerySet.as_manager()

    class Meta(OutboxFields.Meta):
        verbose_name = _("letter")
        verbose_name_plural = _("letters")
        ordering = ["created_at"]
        indexes = [
            *OutboxFields.Meta.indexes,
            models.Index(fields=["status", "created_at"], name="letter_status_created"),
            models.Index(fields=["case", "status"], name="letter_case_status"),
            # The admin's country filter lists the countries letters came from (SELECT DISTINCT country).
            models.Index(fields=["country"], name="letter_country"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} ({self.country.code}) → {self.case}"

    @property
    def kind(self) -> str:
        """How the ledger counts this letter: with a drawing or photo it is a drawing, else a letter (once)."""
        return ActionKind.DRAWING if self.image else ActionKind.LETTER

    @property
    def flag_list(self) -> list[str]:
        return self.flags.split()

    def is_claimed_by_other(self, user, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        return (
            self.claimed_by_id is not None
            and self.claimed_by_id != user.pk
            and self.claimed_until is not None
            and self.claimed_until > now
        )


class FamilyContactQuerySet(models.QuerySet):
    def by_email(self) -> FamilyContactQuerySet:
        """The contacts who get digests: reached by email (or by email and post) and with an address."""
        return self.filter(delivery__in=[FamilyContact.Delivery.EMAIL, FamilyContact.Delivery.BOTH]).exclude(email="")

    def by_post(self) -> FamilyContactQuerySet:
        """The contacts organizers print letters packs for: reached by post (or by post and email)."""
        return self.filter(delivery__in=[FamilyContact.Delivery.POST, FamilyContact.Delivery.BOTH])


class FamilyContact(models.Model):
    """Someone close to the person at risk who receives the approved letters: by email digest at their own
    cadence, on paper (letters packs that organizers print and post or hand over), or both. A person in
    prison, where no email arrives, is a contact reached by post at the prison's address."""

    class Cadence(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")

    class Delivery(models.TextChoices):
        EMAIL = "email", _("By email (digests)")
        POST = "post", _("On paper (letters packs)")
        BOTH = "both", _("By email and on paper")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="family_contacts", verbose_name=_("case"))
    name = models.CharField(_("name"), max_length=200)
    delivery = models.CharField(_("reached"), max_length=8, choices=Delivery.choices, default=Delivery.EMAIL)
    email = models.EmailField(_("email"), blank=True)
    # Printed on the letters pack's cover for whoever posts or hands it over; a prison's address for a person
    # held there.
    postal_address = models.TextField(_("postal address"), blank=True, max_length=1000)
    language = models.CharField(_("language"), max_length=8, choices=language_choices, default=default_language)
    cadence = models.CharField(_("cadence"), max_length=8, choices=Cadence.choices, default=Cadence.WEEKLY)
    paused = models.BooleanField(_("paused"), default=False)
    next_digest_at = models.DateTimeField(
        _("next digest due at"), default=timezone.now, help_text=_("The next digest is sent after this time.")
    )
    failed_attempts = models.PositiveSmallIntegerField(_("failed attempts in a row"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = FamilyContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("family contact")
        verbose_name_plural = _("family contacts")
        ordering = ["case", "name"]
        indexes = [
            models.Index(fields=["next_digest_at"], condition=models.Q(paused=False), name="familycontact_due"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.case})"

    @property
    def interval(self) -> datetime.timedelta:
        return datetime.timedelta(days=1 if self.cadence == self.Cadence.DAILY else 7)

    @property
    def by_email(self) -> bool:
        return self.delivery in (self.Delivery.EMAIL, self.Delivery.BOTH) and bool(self.email)

    @property
    def by_post(self) -> bool:
        return self.delivery in (self.Delivery.POST, self.Delivery.BOTH)

    def clean(self) -> None:
        errors = {}
        if self.delivery in (self.Delivery.EMAIL, self.Delivery.BOTH) and not self.email:
            errors["email"] = _("A contact reached by email needs an email address.")
        if self.delivery in (self.Delivery.POST, self.Delivery.BOTH) and not self.postal_address.strip():
            errors["postal_address"] = _("A contact reached on paper needs a postal address.")
        if errors:
            raise ValidationError(errors)


class Digest(models.Model):
    """One mail to one family contact. A digest being sent, sent or uncertain lists, through its items, exactly
    the letters it carried (`letters.services.digests` says how it moves from one status to the next)."""

    class Status(models.TextChoices):
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (will be retried)")
        # Left "being sent" past its lease: its worker died, maybe after the server took the mail.
        UNCERTAIN = "uncertain", _("May not have arrived")
        RESENT = "resent", _("Sent again in a later digest")

    contact = models.ForeignKey(
        FamilyContact, on_delete=models.CASCADE, related_name="digests", verbose_name=_("family contact")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    # While `sending`: when the worker's lease on it ends (then it is resolved as `uncertain`).
    sending_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempt"), default=1)
    last_error = models.TextField(_("error"), blank=True)
    letter_count = models.PositiveIntegerField(_("letters"), default=0)
    letters = models.ManyToManyField(Letter, through="DigestItem", related_name="digests", verbose_name=_("letters"))

    class Meta:
        verbose_name = _("digest")
        verbose_name_plural = _("digests")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["sending_until"], condition=models.Q(status="sending"), name="digest_sending"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} {self.created_at:%Y-%m-%d %H:%M}"


class DigestItem(models.Model):
    """A letter carried by a sent digest. The contact is repeated here so that the database itself refuses
    to record one letter twice for one contact."""

    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="items")
    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="digest_items")
    contact = models.ForeignKey(FamilyContact, on_delete=models.CASCADE, related_name="+")
    image_attached = models.BooleanField(_("drawing attached"), default=False)

    class Meta:
        verbose_name = _("letter in a digest")
        verbose_name_plural = _("letters in a digest")
        constraints = [
            models.UniqueConstraint(fields=["contact", "letter"], name="digest_item_once_per_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.letter_id} in {self.digest_id}"


class LetterTranslation(models.Model):
    """A moderator's translation of a letter, printed beside the original in the letters packs of contacts who
    read that language (a family that reads neither the writer's language nor English, for example)."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="translations", verbose_name=_("letter"))
    language = models.CharField(_("language"), max_length=8, choices=language_choices)
    text = models.TextField(_("translation"), max_length=5000)
    translated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("translated by"),
    )
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("translation")
        verbose_name_plural = _("translations")
        constraints = [models.UniqueConstraint(fields=["letter", "language"], name="letter_translation_once")]

    def __str__(self) -> str:
        return f"{self.letter_id} ({self.language})"


class LetterPack(models.Model):
    """A printed booklet of approved letters for one family contact reached by post, built by a worker as an
    export (its `export_job` carries the progress and the file). A pack being built, ready or handed over
    lists, through its items, exactly the letters it holds (`letters.services.packs` says how it moves from
    one status to the next)."""

    class Status(models.TextChoices):
        BUILDING = "building", _("Being prepared")
        READY = "ready", _("Ready to print")
        HANDED_OVER = "handed_over", _("Handed over")
        FAILED = "failed", _("Failed (its letters go in the next pack)")
        CANCELLED = "cancelled", _("Not printed (its letters go in the next pack)")

    contact = models.ForeignKey(
        FamilyContact, on_delete=models.CASCADE, related_name="packs", verbose_name=_("family contact")
    )
    export_job = models.OneToOneField(
        ExportJob,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="letters_pack",
        verbose_name=_("export"),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.BUILDING)
    # While `building`: when its worker's lease ends (then its letters are given back: the file never went out).
    building_until = models.DateTimeField(_("being prepared until"), null=True, blank=True)
    letter_count = models.PositiveIntegerField(_("letters"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("asked by")
    )
    created_at = models.DateTimeField(_("asked at"), default=timezone.now)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    handed_over_on = models.DateField(_("handed over on"), null=True, blank=True)
    # "Delivered by hand to his brother", "Posted, registered mail": what the organizer wrote.
    handover_note = models.CharField(_("how and to whom"), max_length=300, blank=True)
    handover_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("hand-over recorded by"),
    )
    handover_recorded_at = models.DateTimeField(_("hand-over recorded at"), null=True, blank=True)
    letters = models.ManyToManyField(Letter, through="LetterPackItem", related_name="packs", verbose_name=_("letters"))

    class Meta:
        verbose_name = _("letters pack")
        verbose_name_plural = _("letters packs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["building_until"], condition=models.Q(status="building"), name="letterpack_building"),
        ]
        permissions = [("print_letters", _("Can prepare letters packs and record their hand-over"))]

    def __str__(self) -> str:
        return f"{self.contact} {self.created_at:%Y-%m-%d %H:%M}"


class LetterPackItem(models.Model):
    """A letter held by a letters pack. The contact is repeated here so that the database itself refuses to
    print one letter twice for one contact (as DigestItem does for mail)."""

    pack = models.ForeignKey(LetterPack, on_delete=models.CASCADE, related_name="items")
    letter = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="pack_items")
    contact = models.ForeignKey(FamilyContact, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("letter in a pack")
        verbose_name_plural = _("letters in a pack")
        constraints = [models.UniqueConstraint(fields=["contact", "letter"], name="pack_item_once_per_contact")]

    def __str__(self) -> str:
        return f"{self.letter_id} in pack {self.pack_id}"
