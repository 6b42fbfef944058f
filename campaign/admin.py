"""Admin for campaigns, cases and the ledger's tallies (read only)."""

from __future__ import annotations

from django.contrib import admin
from django.utils import translation
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


@admin.register(Case)
class CaseAdmin(LanguagePreviewMixin, TranslationAdmin):
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
        (_("Status"), {"fields": ("status", "outcome", "outcome_date", "closes_at", "petition_closed_at")}),
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
