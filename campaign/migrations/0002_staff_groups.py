"""Create the staff groups. Other apps' migrations add their own permissions to these groups."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ORGANIZER_PERMISSIONS = [
    "add_campaign",
    "change_campaign",
    "view_campaign",
    "add_case",
    "change_case",
    "view_case",
    "view_tally",
    "export_totals",
]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; create this app's now to hand them out.
    # The migration state's app config is a stub: tell create_permissions it has models.
    app_config = apps.get_app_config("campaign")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.get_or_create(name="Moderators")
    organizers, _ = Group.objects.get_or_create(name="Organizers")
    organizers.permissions.add(
        *Permission.objects.filter(content_type__app_label="campaign", codename__in=ORGANIZER_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaign", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
