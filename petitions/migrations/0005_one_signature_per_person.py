"""The unique constraint moves from (case, normalised email) to (email marker, case): see 0004, which gave every
row its marker. Its own migration, so its own transaction: PostgreSQL refuses to build an index on a table whose
rows were updated earlier in the same transaction."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("petitions", "0004_email_marker")]

    operations = [
        migrations.RemoveConstraint(model_name="signature", name="signature_one_per_inbox_and_case"),
        # Lookups by address go through the marker now (new links, repeats, the superusers' search).
        migrations.RemoveIndex(model_name="signature", name="signature_email"),
        migrations.AddConstraint(
            model_name="signature",
            constraint=models.UniqueConstraint(
                condition=models.Q(("email_marker", ""), _negated=True),
                fields=("email_marker", "case"),
                name="signature_one_per_person_and_case",
            ),
        ),
    ]
