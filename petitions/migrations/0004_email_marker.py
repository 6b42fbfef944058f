"""One signature per person and petition, also after erasure: a keyed marker replaces the unkeyed hash.

Until now an erased signature kept `email_normalised = "erased:" + sha256(address)`, which anyone who guesses an
address can check, while new signatures stored the plain normalised address: the two never met, so only a
closed petition stopped an erased signer from signing twice. From here every signature carries
`email_marker`, a keyed hash (petitions.models.email_marker), and the unique constraint is on (marker, case).

This migration:
- gives every row its marker: from its normalised address, or, for an erased row, from the SHA-256 it kept (the
  marker is an HMAC of that SHA-256, so both give the same marker: nothing is lost), and 0005 moves the unique
  constraint onto (marker, case) in a transaction of its own (PostgreSQL refuses to change a table's indexes
  after rows were updated in the same transaction); then blanks the erased
  rows' `email_normalised`, so no unkeyed hash remains in the table (backups taken before still hold them);
- rows without any address (paper signatures without an email) get no marker, as before they had no
  normalised address: they never took part in the one-per-inbox rule;
- where the defect this fixes already let an erased signer sign a reopened petition again, the two rows now
  share a marker: the one that still has an address keeps it (it goes on stopping a third signature), the
  erased one loses it. Both stay, and stay counted: the migration reports how many such pairs it found, for
  staff to invalidate the second signature if they wish;
- keeps only the error class and SMTP code of the mail errors stored on signatures and outcome mails
  ("SMTPRecipientsRefused: 550"): the server's text often quoted the address, which then outlived its erasure.

It computes the markers with the key the site runs with (PETITION_EMAIL_MARKER_KEY, else SECRET_KEY): run it
with the production environment. Going back (migrating to 0003) drops the markers: erased rows then hold
nothing that stops a second signature.
"""

import hashlib
import hmac
import re

from django.conf import settings
from django.db import migrations, models

BATCH = 1000


def _marker_of_digest(digest: str) -> str:
    # A frozen copy of petitions.models.email_marker after its SHA-256 step: keep the two in step
    # (tests/petitions/test_migrations.py checks they agree).
    secret = settings.PETITION_EMAIL_MARKER_KEY or settings.SECRET_KEY
    key = hashlib.sha256(b"plume.petitions.email-marker:" + secret.encode()).digest()
    return hmac.new(key, digest.encode(), "sha256").hexdigest()[:32]


def add_markers(apps, schema_editor):
    Signature = apps.get_model("petitions", "Signature")
    rows = Signature.objects.exclude(email_normalised="").values_list("pk", "email_normalised").order_by("pk")
    batch = []
    for pk, normalised in rows.iterator(chunk_size=BATCH):
        if normalised.startswith("erased:"):
            digest, normalised = normalised.removeprefix("erased:"), ""
        else:
            digest = hashlib.sha256(normalised.encode()).hexdigest()
        batch.append(Signature(pk=pk, email_normalised=normalised, email_marker=_marker_of_digest(digest)))
        if len(batch) == BATCH:
            Signature.objects.bulk_update(batch, ["email_normalised", "email_marker"])
            batch = []
    Signature.objects.bulk_update(batch, ["email_normalised", "email_marker"])


def one_marker_per_case(apps, schema_editor):
    Signature = apps.get_model("petitions", "Signature")
    twice = (
        Signature.objects.exclude(email_marker="")
        .values("email_marker", "case_id")
        .annotate(n=models.Count("pk"))
        .filter(n__gt=1)
    )
    kept = []
    for group in twice.iterator():
        rows = Signature.objects.filter(email_marker=group["email_marker"], case_id=group["case_id"])
        keep = rows.order_by(models.F("email").desc(), "-pk").values_list("pk", flat=True).first()
        rows.exclude(pk=keep).update(email_marker="")
        kept.append(keep)
    if kept:
        # Ids only, never an address.
        print(
            f"\n  {len(kept)} person(s) had signed a petition again after their address was erased. Both signatures "
            f"are kept and counted; the second ones are signatures {', '.join(map(str, kept[:100]))}"
            f"{' ...' if len(kept) > 100 else ''}: invalidate them in the admin if you wish."
        )


_SMTP_CODE = re.compile(r"\(([2-5]\d\d),|^\s*([2-5]\d\d)\b")
_ERROR_CLASS = re.compile(r"[A-Za-z_][\w.]*")


def scrub_error(text: str) -> str:
    """The error class and SMTP code of a stored mail error: "SMTPRecipientsRefused: {'bob@…': (550, b'…')}"
    gives "SMTPRecipientsRefused: 550"; an error with no SMTP code keeps its class alone; scrubbed text stays."""
    name, _, rest = text.partition(":")
    name = name.strip() if _ERROR_CLASS.fullmatch(name.strip()) else "Error"
    code = _SMTP_CODE.search(rest)
    return f"{name}: {code.group(1) or code.group(2)}" if code else name


def scrub_mail_errors(apps, schema_editor):
    for model in ("Signature", "OutcomeMail"):
        Model = apps.get_model("petitions", model)
        rows = Model.objects.exclude(mail_last_error="").values_list("pk", "mail_last_error").order_by("pk")
        batch = []
        for pk, error in rows.iterator(chunk_size=BATCH):
            batch.append(Model(pk=pk, mail_last_error=scrub_error(error)))
            if len(batch) == BATCH:
                Model.objects.bulk_update(batch, ["mail_last_error"])
                batch = []
        Model.objects.bulk_update(batch, ["mail_last_error"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaign", "0007_translated_authority"),
        ("petitions", "0003_outcome_mailings"),
    ]

    operations = [
        migrations.AddField(
            model_name="signature",
            name="email_marker",
            field=models.CharField(blank=True, db_default="", max_length=32, verbose_name="email marker"),
        ),
        migrations.RunPython(add_markers, migrations.RunPython.noop),
        migrations.RunPython(one_marker_per_case, migrations.RunPython.noop),
        migrations.RunPython(scrub_mail_errors, migrations.RunPython.noop),
    ]
