"""Admin for campaigns, cases and the ledger's tallies (read only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils import timezone, translation
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from .models import Campaign, Case, Tally

admin.site.site_header = _("Plume administration")
admin.site.site_title = _("Plume")
# The moderators' queue and the organizers' lists need the width more than the app list beside them.
admin.site.enable_nav_sidebar = False


class LanguagePreviewMixin:
    """A read-only field with a link to the public page in each language."""

    @admin.display(description=_("Preview in each language"))
    def language_previews(self, obj) -> str:
        if not obj.pk:
            return "-"
        from django.conf import settings

        links = []
        for code, name in settings.LANGUAGES:
            with translation.override(code):
                links.append((obj.get_absolute_url(), name))
        return format_html_join(" · ", '<a href="{}" target="_blank" rel="noopener">{}</a>', links)


class CaseInline(admin.TabularInline):
    model = Case
    fields = ("display_order", "name", "country", "status")
    extra = 0
    show_change_link = True


@admin.register(Campaign)
class CampaignAdmin(LanguagePreviewMixin, TranslationAdmin):
    list_display = ("name", "status", "opens_at", "closes_at")
    list_filter = ("status",)
    prepopulated_fields = {"slug": ("name_en",)}
    readonly_fields = ("key", "language_previews")
    inlines = [CaseInline]


class CaseAdminForm(forms.ModelForm):
    """Recording an outcome (good news) asks what becomes of the petition: a case whose person was released must
    not go on collecting signatures for the release."""

    CLOSE, REPLACE = "close", "replace"
    after_outcome = forms.ChoiceField(
        label=_("The petition, now that there is an outcome"),
        required=False,
        choices=[
            ("", "—"),
            (CLOSE, _("Close the petition now (letters go on)")),
            (REPLACE, _("Keep the petition open: I replaced the ask above with a new one")),
        ],
        help_text=_("Asked when an outcome is recorded while the petition still takes signatures."),
    )

    class Meta:
        model = Case
        fields = "__all__"  # noqa: DJ007  (the admin's fieldsets say which)

    def _recording_an_outcome(self, data: dict) -> bool:
        """An outcome is being recorded (the case becomes good news, or an outcome text is written on one) while
        the petition still takes signatures."""
        outcomes = [name for name in data if name == "outcome" or name.startswith("outcome_")]
        outcomes = [name for name in outcomes if name != "outcome_date"]
        writes_outcome = any(name in self.changed_data and (data.get(name) or "").strip() for name in outcomes)
        becomes_good_news = data.get("status") == Case.Status.GOOD_NEWS and (
            self.instance.pk is None or self.initial.get("status") != Case.Status.GOOD_NEWS
        )
        return (becomes_good_news or writes_outcome) and not data.get("petition_closed_at")

    def clean(self) -> dict:
        data = super().clean()
        choice = data.get("after_outcome")
        if not self._recording_an_outcome(data):
            return data
        if not choice:
            self.add_error(
                "after_outcome",
                _("You are recording an outcome: close the petition, or replace its ask and keep it open."),
            )
        elif choice == self.REPLACE and not any(name == "ask" or name.startswith("ask_") for name in self.changed_data):
            self.add_error(
                "after_outcome",
                _("Write the new ask above first: the petition must not keep asking for what has happened."),
            )
        elif choice == self.CLOSE:
            data["petition_closed_at"] = timezone.now()
            self.instance.petition_closed_at = data["petition_closed_at"]
        return data


@admin.register(Case)
class CaseAdmin(LanguagePreviewMixin, TranslationAdmin):
    form = CaseAdminForm
    list_display = ("name", "campaign", "country", "status", "display_order")
    list_editable = ("display_order",)
    list_filter = ("campaign", "status", "country")
    list_select_related = ("campaign",)
    search_fields = ("name", "role")
    readonly_fields = ("key", "language_previews")
    prepopulated_fields = {"slug": ("name_en",)}
    fieldsets = (
        (
            None,
            {"fields": ("campaign", "name", "slug", "key", "country", "role", "display_order", "language_previews")},
        ),
        (_("Photo"), {"fields": ("photo", "photo_alt")}),
        (
            _("Story and ask"),
            {"fields": ("summary", "story", "ask", "authority", "authority_address", "authority_language", "goal")},
        ),
        (_("Sharing"), {"fields": ("post_text",)}),
        (
            _("Status"),
            {"fields": ("status", "outcome", "outcome_date", "after_outcome", "closes_at", "petition_closed_at")},
        ),
    )


@admin.register(Tally)
class TallyAdmin(admin.ModelAdmin):
    """Read-only: tallies are written by the counting tasks and by organizers' reports, never by hand."""

    list_display = ("case", "kind", "source", "country", "day", "count")
    list_filter = ("kind", "source", "case__campaign", "case")
    list_select_related = ("case",)
    date_hierarchy = "day"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
