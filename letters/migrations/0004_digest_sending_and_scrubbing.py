"""Digests recorded as being sent before they go out (`sending`, with a lease; `uncertain`, `resent`), and two
clean-ups of what is already stored:

- the mail errors kept on letters (`mail_last_error`) and digests (`last_error`) are cut to the error's class
  and SMTP code ("SMTPRecipientsRefused: 550", the form campaign.lib.outbox.mail_error writes): the text of an
  SMTP error quotes the address it refused, which stayed behind after the address itself was erased;
- the characters that reorder text (U+202A..U+202E, U+2066..U+2069) are taken out of letters' text and first
  names, as the letter form now does (letters.services.screening).
"""

import re

from django.db import migrations, models
from django.db.models import Q

# Copied here, not imported: a migration must keep working whatever the code becomes.
BIDI_CONTROLS = "".join(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# Already in the new form: a class name and SMTP codes, nothing else.
_SCRUBBED = re.compile(r"[A-Za-z_][\w.]*(: [2-5]\d\d(, [2-5]\d\d)*)?")
_CLASS = re.compile(r"\s*([A-Za-z_][\w.]*)\s*:")
# An SMTP reply quoted in the old form: (550, b'...') or {'someone@…': (550, b'...')}.
_CODE = re.compile(r"\(([2-5]\d\d),")


def scrubbed(error: str) -> str:
    """The class and SMTP codes of a stored error: "SMTPRecipientsRefused: {'bob@example.org': (550, b'No such
    user')}" gives "SMTPRecipientsRefused: 550"; an error with no code keeps its class alone."""
    error = error.strip()
    if not error or _SCRUBBED.fullmatch(error):
        return error
    match = _CLASS.match(error)
    name = match.group(1) if match else "Error"
    codes = sorted(set(_CODE.findall(error)))
    return f"{name}: {', '.join(codes)}" if codes else name


def scrub(apps, schema_editor):
    Letter = apps.get_model("letters", "Letter")
    Digest = apps.get_model("letters", "Digest")
    for model, field in ((Letter, "mail_last_error"), (Digest, "last_error")):
        changed = []
        for row in model.objects.exclude(**{field: ""}).only("pk", field).iterator(chunk_size=2000):
            value = scrubbed(getattr(row, field))
            if value != getattr(row, field):
                setattr(row, field, value)
                changed.append(row)
        model.objects.bulk_update(changed, [field], batch_size=2000)
    pattern = f"[{BIDI_CONTROLS}]"
    letters = Letter.objects.filter(Q(text__regex=pattern) | Q(first_name__regex=pattern)).only(
        "pk", "text", "first_name"
    )
    changed = []
    for letter in letters.iterator(chunk_size=2000):
        letter.text = _BIDI.sub("", letter.text)
        letter.first_name = _BIDI.sub("", letter.first_name).strip() or "?"
        changed.append(letter)
    Letter.objects.bulk_update(changed, ["text", "first_name"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("letters", "0003_letter_country_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="digest",
            name="sending_until",
            field=models.DateTimeField(blank=True, null=True, verbose_name="being sent until"),
        ),
        migrations.AlterField(
            model_name="digest",
            name="status",
            field=models.CharField(
                choices=[
                    ("sending", "Being sent"),
                    ("sent", "Sent"),
                    ("failed", "Failed (will be retried)"),
                    ("uncertain", "May not have arrived"),
                    ("resent", "Sent again in a later digest"),
                ],
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AddIndex(
            model_name="digest",
            index=models.Index(condition=Q(("status", "sending")), fields=["sending_until"], name="digest_sending"),
        ),
        migrations.RunPython(scrub, migrations.RunPython.noop),
    ]
