"""Admin for what letters print (#13): moderators' translations of letters, and the letters packs organizers
prepare on their "On paper" page (organizers.paper_views), listed here read-only. Imported by letters.admin."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from campaign.lib.admin import PersonalDataAdmin

from .models import Letter, LetterPack, LetterPackItem, LetterTranslation


@admin.register(LetterTranslation)
class LetterTranslationAdmin(admin.ModelAdmin):
    """A moderator attaches a translation to an approved letter; it is printed beside the original in the packs
    of contacts who read that language ("Add a translation" on the letter's page opens this form for it)."""

    list_display = ("letter", "language", "translated_by", "created_at")
    list_filter = ("language",)
    list_select_related = ("letter", "translated_by")
    raw_id_fields = ("letter",)
    fields = ("letter", "language", "text")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        letter = Letter.objects.filter(pk=request.GET.get("letter") or 0).first()
        if letter is not None:
            initial["letter"] = letter.pk
        return initial

    def save_model(self, request: HttpRequest, obj: LetterTranslation, form, change: bool) -> None:
        obj.translated_by = request.user
        super().save_model(request, obj, form, change)


class LetterPackItemInline(admin.TabularInline):
    model = LetterPackItem
    fields = ("letter",)
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LetterPack)
class LetterPackAdmin(PersonalDataAdmin):
    """Packs are prepared, handed over and said not printed on the organizers' "On paper" page; here they are
    read: who, when, which letters, what became of them."""

    list_display = ("contact", "status", "letter_count", "created_at", "handed_over_on", "handover_note", "export")
    list_filter = ("status", "contact__case")
    list_select_related = ("contact", "export_job")
    readonly_fields = (
        "contact",
        "status",
        "letter_count",
        "created_by",
        "created_at",
        "ready_at",
        "handed_over_on",
        "handover_note",
        "handover_recorded_by",
        "handover_recorded_at",
    )
    fields = readonly_fields
    inlines = [LetterPackItemInline]

    @admin.display(description=_("export"))
    def export(self, pack: LetterPack) -> str:
        if not pack.export_job_id:
            return "-"
        return format_html('<a href="{}">{}</a>', reverse("organizers:export", args=[pack.export_job_id]), _("Open"))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
