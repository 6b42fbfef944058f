from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LettersConfig(AppConfig):
    name = "letters"
    verbose_name = _("Letters")

    def ready(self) -> None:
        from campaign.panels import register_case_panel

        from .views import render_letter_panel

        # After the petition (order 10): sign first, then write.
        register_case_panel("letters", 20, render_letter_panel)
