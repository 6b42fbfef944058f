from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LettersConfig(AppConfig):
    name = "letters"
    verbose_name = _("Letters")
    # campaign.urls puts this app's urls.py under /<language>/letters/.
    url_prefix = "letters/"

    def ready(self) -> None:
        from celery.schedules import crontab
        from django.conf import settings

        from campaign.celery import schedule
        from campaign.lib.panels import register_case_panel

        from .views import render_letter_panel

        # After the petition (order 10): sign first, then write.
        register_case_panel("letters", 20, render_letter_panel)

        digests = settings.LETTERS_DIGEST_INTERVAL_SECONDS
        notices = settings.LETTERS_NOTICE_INTERVAL_SECONDS
        reminders = settings.LETTERS_REMINDER_INTERVAL_SECONDS
        schedule(
            {
                "letters-send-due-digests": {
                    "task": "letters.tasks.send_due_digests",
                    "schedule": digests,
                    "options": {"expires": digests},
                },
                "letters-send-delivery-notices": {
                    "task": "letters.tasks.send_delivery_notices",
                    "schedule": notices,
                    "options": {"expires": notices},
                },
                "letters-remind-moderators": {
                    "task": "letters.tasks.remind_moderators",
                    "schedule": reminders,
                    "options": {"expires": reminders},
                },
                "letters-resolve-stale-packs": {"task": "letters.tasks.resolve_stale_letter_packs", "schedule": 3600.0},
                "letters-reconcile": {
                    "task": "letters.tasks.reconcile_letter_tallies",
                    "schedule": crontab(hour=3, minute=20),
                },
            }
        )
