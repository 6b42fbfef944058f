"""The keys filled by 0008 become unique (a migration of their own: PostgreSQL builds no index in the
transaction that updated the rows)."""

from django.db import migrations, models

import campaign.models


class Migration(migrations.Migration):
    dependencies = [("campaign", "0008_languages_keys_and_posts")]

    operations = [
        migrations.AlterField(
            model_name="campaign",
            name="key",
            field=models.SlugField(
                blank=True,
                help_text="The same edition in every installation. Set from the slug when empty; never change it.",
                max_length=100,
                unique=True,
                verbose_name="key",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="key",
            field=models.CharField(
                blank=True,
                help_text="The same case in every installation. Set when the case is created; never change it.",
                max_length=150,
                unique=True,
                validators=[campaign.models.validate_case_key],
                verbose_name="key",
            ),
        ),
    ]
