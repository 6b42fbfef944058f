"""Give the Organizers group the offline reports and exports (the same way 0002 hands out permissions)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ORGANIZER_PERMISSIONS = [
    "add_offlinereport",
    "change_offlinereport",
    "view_offlinereport",
    "view_exportjob",
]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("campaign")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    organizers, _ = Group.objects.get_or_create(name="Organizers")
    organizers.permissions.add(
        *Permission.objects.filter(content_type__app_label="campaign", codename__in=ORGANIZER_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [("campaign", "0003_offline_reports_and_exports")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
