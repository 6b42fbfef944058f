"""Admin for the organizers' rows: offline reports (entered, corrected, approved and rejected here), local groups
and their members' accounts, and exports (read only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaign.models import ExportJob, LocalGroup, OfflineReport

from . import local_groups, offline_reports
from .exports import base as exports
from .forms import OfflineReportForm

APPROVE_PERMISSION = "campaign.approve_offlinereport"


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
    list_display = (
        "case",
        "kind",
        "count",
        "country",
        "day",
        "event_name",
        "status",
        "channel",
        "local_group",
        "entered_by",
        "entered_at",
        "is_current",
    )
    list_filter = (CurrentRevisionFilter, "status", "channel", "local_group", "kind", "case__campaign", "case")
    list_select_related = ("case", "entered_by", "local_group")
    actions = ["approve", "reject"]
    show_full_result_count = False
    search_fields = ("event_name", "note", "case__name")
    date_hierarchy = "day"
    readonly_fields = ("entered_by", "entered_at", "decision", "revision_history")
    fields = ("case", "kind", "count", "day", "country", "event_name", "note", "entered_by", "entered_at")

    def get_fields(self, request, obj=None):
        return (*self.fields, "decision", "revision_history") if obj else self.fields[:-2]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm(APPROVE_PERMISSION):
            actions.pop("approve", None)
            actions.pop("reject", None)
        return actions

    @admin.action(description=_("Approve: count them"))
    def approve(self, request: HttpRequest, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        done = offline_reports.approve_offline_reports(ids, decided_by=request.user)
        self.message_user(
            request, gettext("%(done)d of %(asked)d reports approved and counted.") % {"done": done, "asked": len(ids)}
        )

    @admin.action(description=_("Reject: they do not count"))
    def reject(self, request: HttpRequest, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        done = offline_reports.reject_offline_reports(ids, decided_by=request.user)
        self.message_user(
            request, gettext("%(done)d of %(asked)d reports rejected.") % {"done": done, "asked": len(ids)}
        )

    @admin.display(description=_("Status"))
    def decision(self, obj: OfflineReport) -> str:
        parts = [obj.get_status_display(), obj.get_channel_display()]
        if obj.local_group:
            parts.append(str(obj.local_group))
        if obj.decided_by:
            parts.append(gettext("decided by %(name)s") % {"name": obj.decided_by})
        if obj.decision_note:
            parts.append(obj.decision_note)
        return " · ".join(parts)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_current:
            # History is never rewritten: an old revision is shown read-only.
            return (*self.fields, "decision", "revision_history")
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
                r.get_status_display(),
                r.count,
                r.get_kind_display(),
                r.day,
                r.country.code or "-",
                r.event_name,
            )
            for r in obj.revisions()
        ]
        return format_html(
            "<table><tr>" + "<th>{}</th>" * 8 + "</tr>{}</table>",
            _("entered at"),
            _("entered by"),
            _("status"),
            _("count"),
            _("kind of action"),
            _("day"),
            _("country"),
            _("event or organisation"),
            format_html_join("", "<tr>" + "<td>{}</td>" * 8 + "</tr>", rows),
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


class NewMemberForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)


@admin.register(LocalGroup)
class LocalGroupAdmin(admin.ModelAdmin):
    """Organizers create local groups and their members' accounts here. A member's account is not staff: it
    signs in on the groups' own page and sees its groups' reports and totals, nothing else."""

    list_display = ("name", "country", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "country", "is_active", "member_list")
    readonly_fields = ("member_list",)

    @admin.display(description=_("members"))
    def member_list(self, obj: LocalGroup) -> str:
        if not obj.pk:
            return "-"
        members = format_html_join(", ", "{}", ((m.get_username(),) for m in obj.members.order_by("username")))
        link = reverse("admin:campaign_localgroup_members", args=[obj.pk])
        return format_html('{} <a href="{}">{}</a>', members or "-", link, gettext("Add or remove members"))

    def get_urls(self):
        own = [
            path("<int:pk>/members/", self.admin_site.admin_view(self.members_view), name="campaign_localgroup_members")
        ]
        return own + super().get_urls()

    def members_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        group = get_object_or_404(LocalGroup, pk=pk)
        if not self.has_change_permission(request, group):
            raise PermissionDenied
        form = NewMemberForm(request.POST if "add" in request.POST else None)
        link = None
        if request.method == "POST" and "remove" in request.POST:
            removed = group.members.filter(pk__in=request.POST.getlist("member")).values_list("pk", flat=True)
            group.members.remove(*removed)
            self.message_user(request, gettext("%(n)d members removed from the group.") % {"n": len(removed)})
            return HttpResponseRedirect(request.path)
        if request.method == "POST" and form.is_valid():
            try:
                _user, path_ = local_groups.create_member(group, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error("username", exc)
            else:
                link = request.build_absolute_uri(path_)
                form = NewMemberForm()
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Members of %(group)s") % {"group": group},
            "group": group,
            "members": group.members.order_by("username"),
            "form": form,
            "link": link,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "organizers/admin/group_members.html", context)


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
