"""Admin for the organizers' rows: offline reports (entered and corrected here) and exports (read only)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from campaign.models import ExportJob, OfflineReport

from . import offline_reports
from .exports import base as exports
from .forms import OfflineReportForm


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
    """Organizers enter and correct offline reports here; both go through organizers.offline_reports, which moves the
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
                saved = offline_reports.correct_offline_report(obj.pk, entered_by=request.user, **fields)
            else:
                saved = offline_reports.record_offline_report(entered_by=request.user, **fields)
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

    list_display = ("pk", "kind_label", "format", "requested_by", "status", "progress_done", "created", "expires_at")
    list_filter = ("status", "format")
    list_select_related = ("requested_by",)

    @admin.display(description=_("export"))
    def kind_label(self, job: ExportJob) -> str:
        return exports.label(job.kind)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
