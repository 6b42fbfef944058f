"""Admin of the hub: the sections it follows (with their push tokens, created and shown once, and revoked
here), and the case packs (imported from a file or an address, exported for a campaign). Every action calls
the same service as the pages, the tasks and the management commands."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.models import Campaign

from .models import CasePackImport, Section, SectionToken
from .services import casepack_import, casepacks, fetching, problems, tokens

MANAGE = "sections.manage_sections"


class TokenInline(admin.TabularInline):
    model = SectionToken
    fields = ("hint", "created_at", "created_by", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # with the action "Create a push token": the token is shown once


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ("name", "countries_list", "totals_url", "is_active", "last_received_at", "state")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = ("name", "countries", "totals_url", "is_active", "last_received_at", "last_attempt_at", "state")
    readonly_fields = ("last_received_at", "last_attempt_at", "state")
    inlines = [TokenInline]
    actions = ["fetch_now", "create_token", "revoke_tokens"]

    @admin.display(description=gettext_lazy("countries"))
    def countries_list(self, obj: Section) -> str:
        return ", ".join(c.code for c in obj.countries)

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj: Section) -> str:
        stale = _("Stale") if obj.is_stale() else _("Up to date")
        if not obj.problem:
            return stale
        return format_html(
            '{} · {} <span dir="ltr">{}</span>', stale, problems.describe(obj.problem), obj.problem_detail
        )

    def _may_manage(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MANAGE)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self._may_manage(request):
            for name in ("fetch_now", "create_token", "revoke_tokens"):
                actions.pop(name, None)
        return actions

    @admin.action(description=gettext_lazy("Fetch their totals now"))
    def fetch_now(self, request: HttpRequest, queryset) -> None:
        report = fetching.fetch_due_sections(only=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            _("Fetched %(fetched)d: %(counted)d counted, %(unchanged)d unchanged, %(held)d held, %(failed)d failed.")
            % report.__dict__,
        )

    @admin.action(description=gettext_lazy("Create a push token (shown once)"))
    def create_token(self, request: HttpRequest, queryset) -> None:
        for section in queryset:
            token = tokens.create_token(section, created_by=request.user)
            self.message_user(
                request,
                format_html(
                    "{} <code>{}</code>",
                    _("Token for %(name)s, shown only now: copy it for the section.") % {"name": section.name},
                    token,
                ),
                messages.WARNING,
            )

    @admin.action(description=gettext_lazy("Revoke their push tokens"))
    def revoke_tokens(self, request: HttpRequest, queryset) -> None:
        ids = list(SectionToken.objects.filter(section__in=queryset).values_list("pk", flat=True))
        self.message_user(request, _("%(n)d tokens revoked.") % {"n": tokens.revoke_tokens(ids)})


class CasePackImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Case pack file (ZIP)"), required=False)
    url = forms.URLField(label=gettext_lazy("or its address"), required=False, assume_scheme="https")

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("file")) == bool(data.get("url")):
            raise forms.ValidationError(_("Give the pack's file or its address, one of the two."))
        return data


class CasePackExportForm(forms.Form):
    campaign = forms.ModelChoiceField(label=gettext_lazy("Campaign"), queryset=Campaign.objects.all())


def report_html(report: dict) -> str:
    """A case pack's report as the organizer reads it."""
    rows = [(_("Cases created"), ", ".join(report.get("created", [])) or "-")]
    rows += [(_("Updated: %(case)s") % {"case": k}, ", ".join(v)) for k, v in report.get("updated", {}).items()]
    rows += [
        (_("Left as this site changed them: %(case)s") % {"case": k}, ", ".join(v))
        for k, v in report.get("kept", {}).items()
    ]
    rows += [
        (
            casepack_import.PROBLEMS.get(p["code"], p["code"]),
            " ".join(part for part in (p.get("case", ""), p.get("detail", "")) if part),
        )
        for p in report.get("problems", [])
    ]
    return format_html(
        '<table class="plume-pack-report">{}</table>',
        format_html_join("", '<tr><th scope="row">{}</th><td dir="ltr">{}</td></tr>', rows),
    )


@admin.register(CasePackImport)
class CasePackImportAdmin(admin.ModelAdmin):
    list_display = ("imported_at", "campaign_key", "revision", "status", "source", "imported_by")
    list_filter = ("status",)
    fields = ("imported_at", "campaign", "campaign_key", "revision", "status", "source", "imported_by", "result")
    readonly_fields = fields
    change_list_template = "sections/admin/casepack_changelist.html"

    @admin.display(description=gettext_lazy("report"))
    def result(self, obj: CasePackImport) -> str:
        return report_html(obj.report)

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(MANAGE)

    def get_urls(self):
        own = [
            path("export/", self.admin_site.admin_view(self.export_view), name="sections_casepack_export"),
        ]
        return own + super().get_urls()

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CasePackImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            if form.cleaned_data["file"]:
                upload = form.cleaned_data["file"]
                row, _report = casepack_import.import_case_pack(
                    upload.read(), source=upload.name, imported_by=request.user
                )
            else:
                row, _report = casepack_import.import_from_source(form.cleaned_data["url"], imported_by=request.user)
            level = messages.SUCCESS if row.status == CasePackImport.Status.DONE else messages.ERROR
            self.message_user(request, row.get_status_display(), level)
            return HttpResponseRedirect(reverse("admin:sections_casepackimport_change", args=[row.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import a case pack"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, "sections/admin/casepack_form.html", context, status=400 if form.errors else 200
        )

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied
        form = CasePackExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            campaign = form.cleaned_data["campaign"]
            response = HttpResponse(casepacks.export_case_pack(campaign), content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="{casepacks.file_name(campaign)}"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export a case pack"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "sections/admin/casepack_form.html", context)
