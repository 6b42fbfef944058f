from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportersConfig(AppConfig):
    """What a supporter does beyond signing and writing (sharing, solidarity posts, the next step) and their own
    data. Imports campaign, petitions and letters; only organizers imports it (docs/architecture.md)."""

    name = "supporters"
    verbose_name = _("Supporters")
    # campaign.urls puts this app's urls.py under /<language>/supporters/.
    url_prefix = "supporters/"

    def ready(self) -> None:
        from django.conf import settings

        from campaign.celery import schedule
        from campaign.lib.panels import register_case_panel
        from petitions.extras import register_after_signing

        from . import checks  # noqa: F401  (registers the system checks)
        from .views import render_after_signing, render_case_panel

        # After the petition (10) and the letter (20): share the case, post in solidarity.
        register_case_panel("supporters", 30, render_case_panel)
        register_after_signing("next-step", render_after_signing)
        posts = settings.SUPPORTERS_POSTS_INTERVAL_SECONDS
        schedule(
            {
                "supporters-count-posts": {
                    "task": "supporters.tasks.count_posts",
                    "schedule": posts,
                    "options": {"expires": posts},
                },
                "supporters-send-data-links": {
                    "task": "supporters.tasks.send_data_links",
                    "schedule": 10.0,
                    "options": {"expires": 10.0},
                },
                "supporters-forget-data-requests": {
                    "task": "supporters.tasks.forget_data_requests",
                    "schedule": 3600.0,
                },
            }
        )
