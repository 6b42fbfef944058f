from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SectionsConfig(AppConfig):
    name = "sections"
    verbose_name = _("Sections of the movement")
    # campaign.urls puts urls.py's urlpatterns under /<language>/ (staff/sections/) and its root_urlpatterns (the
    # public JSON of the movement, the push endpoint, case packs) at the root.
    url_prefix = ""

    def ready(self) -> None:
        from django.conf import settings

        from campaign.celery import schedule
        from campaign.lib.panels import register_case_panel

        from .panels import movement_panel

        schedule(
            {
                "fetch-sections": {
                    "task": "sections.tasks.fetch_sections",
                    "schedule": float(settings.SECTIONS_FETCH_INTERVAL_SECONDS),
                },
            }
        )
        # Above the forms: the movement's total for the case, on a hub.
        register_case_panel("movement", 5, movement_panel)
