"""Admin for campaigns, cases and the ledger (organizers' work)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from . import services
from .forms import OfflineReportForm
from .models import Campaign, Case, ExportJob, OfflineReport, Tally

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
    readonly_fields = ("language_previews",)
    inlines = [CaseInline]


@admin.register(Case)
class CaseAdmin(LanguagePreviewMixin, TranslationAdmin):
    list_display = ("name", "campaign", "country", "status", "display_order")
    list_editable = ("display_order",)
    list_filter = ("campaign", "status", "country")
    list_select_related = ("campaign",)
    search_fields = ("name", "role")
    readonly_fields = ("language_previews",)
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = (
        (None, {"fields": ("campaign", "name", "slug", "country", "role", "display_order", "language_previews")}),
        (_("Photo"), {"fields": ("photo", "photo_alt")}),
        (_("Story and ask"), {"fields": ("summary", "story", "ask", "authority", "authority_address", "goal")}),
        (_("Status"), {"fields": ("status", "outcome", "outcome_date", "closes_at")}),
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


# --- Organizers: offline reports and exports ------------------------------------------------------------


class CurrentRevisionFilter(admin.SimpleListFilter):
    """Opens on the reports the ledger counts; earlier revisions are one click away."""

    title = _("revision")
    parameter_name = "revision"

    def lookups(self, request, model_admin):
        return [("all", _("All revisions, history included"))]

    def queryset(self, request, queryset):
        return queryset if self.value() == "all" else queryset.filter(is_current=True)

    def choices(self, changelist):
        # Replaces the default "All" entry, which would mean the same as "Current revisions" here.
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("Current revisions"),
        }
        yield {
            "selected": self.value() == "all",
            "query_string": changelist.get_query_string({self.parameter_name: "all"}),
            "display": _("All revisions, history included"),
        }


@admin.register(OfflineReport)
class OfflineReportAdmin(admin.ModelAdmin):
    """Organizers enter and correct offline reports here; both go through campaign.services, which moves the
    ledger. A correction is saved as a new revision: the one shown is kept as history."""

    form = OfflineReportForm
    list_display = ("case", "kind", "count", "country", "day", "event_name", "entered_by", "entered_at", "is_current")
    list_filter = (CurrentRevisionFilter, "kind", "case__campaign", "case")
    list_select_related = ("case", "entered_by")
    show_full_result_count = False
    search_fields = ("event_name", "note", "case__name")
    date_hierarchy = "day"
    readonly_fields = ("entered_by", "entered_at", "revision_history")
    fields = ("case", "kind", "count", "day", "country", "event_name", "note", "entered_by", "entered_at")

    def get_fields(self, request, obj=None):
        return (*self.fields, "revision_history") if obj else self.fields[:-2]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_current:
            # History is never rewritten: an old revision is shown read-only.
            return (*self.fields, "revision_history")
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        # Withdrawing a report is a correction to zero, which keeps who did it and when.
        return False

    @admin.display(description=_("History"))
    def revision_history(self, obj: OfflineReport) -> str:
        rows = [
            (
                r.entered_at.strftime("%Y-%m-%d %H:%M"),
                r.entered_by or "-",
                r.count,
                r.get_kind_display(),
                r.day,
                r.country.code or "-",
                r.event_name,
            )
            for r in obj.revisions()
        ]
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>",
            _("entered at"),
            _("entered by"),
            _("count"),
            _("kind of action"),
            _("day"),
            _("country"),
            _("event or organisation"),
            format_html_join("", "<tr>" + "<td>{}</td>" * 7 + "</tr>", rows),
        )

    def save_model(self, request, obj: OfflineReport, form, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in ("case", "kind", "count", "day", "event_name", "note")}
        fields["country"] = form.cleaned_data["country"] or ""
        try:
            if change:
                saved = services.correct_offline_report(obj.pk, entered_by=request.user, **fields)
            else:
                saved = services.record_offline_report(entered_by=request.user, **fields)
        except ValidationError as exc:
            # Another organizer corrected the same revision between the form's check and this save.
            request._offline_report_refused = " ".join(exc.messages)
            return
        # The admin goes on with `obj` (messages, log entry, redirect): make it the revision just saved.
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def save_related(self, request, form, formsets, change: bool) -> None:
        # No related rows: the service saved everything.
        pass

    def _refused(self, request) -> HttpResponseRedirect | None:
        refused = getattr(request, "_offline_report_refused", None)
        if refused is None:
            return None
        self.message_user(request, refused, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:campaign_offlinereport_changelist"))

    def response_add(self, request, obj: OfflineReport, post_url_continue=None):
        return self._refused(request) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj: OfflineReport):
        if refused := self._refused(request):
            return refused
        response = super().response_change(request, obj)
        if "_continue" in request.POST:
            # "Save and continue" goes on with the new revision, not with the one it replaced.
            return HttpResponseRedirect(reverse("admin:campaign_offlinereport_change", args=[obj.pk]))
        return response


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Read-only list of exports; they are started and downloaded from the organizers' export page."""

    list_display = ("__str__", "requested_by", "status", "progress_done", "progress_total", "created", "expires_at")
    list_filter = ("status", "kind", "format")
    list_select_related = ("requested_by",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
