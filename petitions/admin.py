"""Admin for signatures, paper imports, outcome mailings and email rules.

Who sees what (see docs/petitions.md): Moderators see nothing of petitions. Organizers see signatures
(name, case, country, status; never the email address or network address), invalidate them, import paper
sheets and mail outcomes (the lists for the authority are on the organizers' pages: organizers/views.py).
Email and network addresses are for superusers only, and so are lookups on them in the URL
(campaign.lib.admin.PersonalDataAdmin).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.generic import RedirectView

from campaign.lib.admin import PersonalDataAdmin

from .forms import BulkInvalidationForm, OutcomeMailingForm, PaperImportForm
from .models import EmailRule, OutcomeMailing, PaperImport, Signature, email_marker, normalise_email
from .services import invalidation, outcome, paper, retention

# Hidden from organizers in lists and forms; campaign.lib.admin.PersonalDataAdmin refuses them lookups on these
# too (and on any field of that name across a relation).
PERSONAL_FIELDS = ("email", "email_normalised", "email_marker", "ip", "mail_last_error")


@admin.register(EmailRule)
class EmailRuleAdmin(admin.ModelAdmin):
    list_display = ("domain", "ignore_dots", "strip_plus_tag", "same_as")
    search_fields = ("domain",)


@admin.register(Signature)
class SignatureAdmin(PersonalDataAdmin):
    list_display = ("name", "case", "country", "status", "flagged", "flag_rule", "source", "created_at")
    list_filter = ("status", "flagged", "source", "case")
    list_select_related = ("case",)
    # The table can hold millions of rows: no COUNT(*) of all of them on every page.
    show_full_result_count = False
    list_per_page = 50
    ordering = ("-pk",)
    actions = ["invalidate_selected", "clear_flags"]
    change_list_template = "petitions/admin/signature_change_list.html"

    def get_list_display(self, request: HttpRequest):
        if request.user.is_superuser:
            return ("name", "email", *self.list_display[1:])
        return self.list_display

    def get_search_fields(self, request: HttpRequest):
        # The search box, for superusers only: they search by address (get_search_results).
        return ("email_marker",) if request.user.is_superuser else ()

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Signature], search_term: str):
        """A superuser finds one person's signatures by their address, exactly, also once it was erased (a
        request to be forgotten): through the marker, served by the unique index."""
        term = search_term.strip()
        if not term or not request.user.is_superuser:
            return queryset, False
        return queryset.filter(email_marker=email_marker(normalise_email(term))), False

    def get_fields(self, request: HttpRequest, obj=None):
        fields = [f.name for f in Signature._meta.concrete_fields if f.name != "id"]
        if not request.user.is_superuser:
            fields = [f for f in fields if f not in PERSONAL_FIELDS]
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    # Deleting (superusers: a person's request to be erased) goes through the service that also takes
    # counted signatures out of the ledger.
    def delete_model(self, request: HttpRequest, obj: Signature) -> None:
        invalidation.delete_signatures(Signature.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Signature]) -> None:
        invalidation.delete_signatures(queryset)

    def has_invalidate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("petitions.invalidate_signatures")

    @admin.action(description=_("Invalidate the selected signatures"), permissions=["invalidate"])
    def invalidate_selected(self, request: HttpRequest, queryset: QuerySet[Signature]) -> None:
        n = invalidation.invalidate_signatures(queryset)
        self.message_user(request, ngettext("%d signature invalidated.", "%d signatures invalidated.", n) % n)

    @admin.action(
        description=_("Not suspicious: clear the flag (pending ones get their mail)"), permissions=["invalidate"]
    )
    def clear_flags(self, request: HttpRequest, queryset: QuerySet[Signature]) -> None:
        n = invalidation.clear_flags(queryset)
        self.message_user(request, ngettext("%d flag cleared.", "%d flags cleared.", n) % n)

    def get_urls(self):
        return [
            path(
                "bulk-invalidate/",
                self.admin_site.admin_view(self.bulk_invalidate_view),
                name="petitions_signature_bulk_invalidate",
            ),
            # The lists moved to the organizers' pages; old bookmarks follow them.
            path(
                "authority-lists/",
                self.admin_site.admin_view(RedirectView.as_view(pattern_name="organizers:authority-lists")),
                name="petitions_signature_authority_lists",
            ),
            *super().get_urls(),
        ]

    def bulk_invalidate_view(self, request: HttpRequest) -> HttpResponse:
        """Invalidate by domain, address range or time window: first a preview of how many rows it
        touches, then the same form with a confirm button."""
        if not self.has_invalidate_permission(request):
            raise PermissionDenied
        form = BulkInvalidationForm(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            signatures = form.filter().queryset()
            if "confirm" in request.POST:
                n = invalidation.invalidate_signatures(signatures)
                self.message_user(
                    request,
                    ngettext("%d signature invalidated.", "%d signatures invalidated.", n) % n,
                    messages.SUCCESS,
                )
                return redirect("admin:petitions_signature_changelist")
            preview = invalidation.preview_invalidation(signatures)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Invalidate signatures in bulk"),
            "opts": self.model._meta,
            "form": form,
            "preview": preview,
            "status_names": dict(Signature.Status.choices),
        }
        return TemplateResponse(request, "petitions/admin/bulk_invalidate.html", context)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_invalidate": self.has_invalidate_permission(request),
            "can_export": request.user.has_perm("petitions.export_signatures"),
        }
        return super().changelist_view(request, extra_context)


@admin.register(PaperImport)
class PaperImportAdmin(PersonalDataAdmin):
    """Organizers add imports and read their reports (names as written, addresses masked); superusers may erase a
    report before the hourly task does (PETITION_PAPER_REPORT_DAYS)."""

    list_display = ("case", "event", "day", "kind", "accepted", "rejected", "uploaded_by", "uploaded_at")
    list_filter = ("kind", "case")
    list_select_related = ("case", "uploaded_by")
    readonly_fields = ("case", "kind", "event", "day", "file_name", "uploaded_by", "uploaded_at", "accepted")
    add_form = PaperImportForm
    # The report is read on its page, not searched: a lookup could still find what the masks hide.
    personal_fields = ("report",)
    actions = ["erase_reports"]

    def get_form(self, request: HttpRequest, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return ["case", "kind", "event", "day", "csv_file"]
        return [*self.readonly_fields, "rejected", "rejected_rows"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return () if obj is None else (*self.readonly_fields, "rejected", "rejected_rows")

    @admin.display(description=_("Rejected rows"))
    def rejected_rows(self, obj: PaperImport) -> str:
        if not obj.report:
            return _("The rejected rows were erased.") if obj.rejected else "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((r.get("line") or "", r.get("row", ""), r.get("reason", "")) for r in obj.report),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("Line"),
            _("Row"),
            _("Reason"),
            rows,
        )

    def save_model(self, request: HttpRequest, obj: PaperImport, form, change: bool) -> None:
        upload = form.cleaned_data["csv_file"]
        obj.uploaded_by = request.user
        obj.file_name = upload.name[:255]
        paper.import_paper_signatures(obj, form.cleaned_data["csv_content"])
        self.message_user(
            request,
            _("%(accepted)s signatures counted, %(rejected)s rows rejected.")
            % {"accepted": obj.accepted, "rejected": obj.rejected},
            messages.WARNING if obj.rejected else messages.SUCCESS,
        )

    def response_add(self, request: HttpRequest, obj: PaperImport, post_url_continue=None):
        # Straight to the report of the import just made.
        return redirect(reverse("admin:petitions_paperimport_change", args=[obj.pk]))

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Its counts are in the ledger; a wrong import is corrected by importing the difference.
        return False

    def has_erase_report_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @admin.action(description=_("Erase the rejected rows of the selected imports"), permissions=["erase_report"])
    def erase_reports(self, request: HttpRequest, queryset: QuerySet[PaperImport]) -> None:
        n = retention.erase_paper_reports(queryset)
        self.message_user(request, ngettext("%d report erased.", "%d reports erased.", n) % n)


@admin.register(OutcomeMailing)
class OutcomeMailingAdmin(PersonalDataAdmin):
    """How a case turned out, mailed to the signers who asked for it. Organizers see counts, never addresses."""

    list_display = ("case", "recipients", "sent", "created_by", "created_at")
    list_select_related = ("case", "created_by")
    form = OutcomeMailingForm
    fields = ["case", "confirm"]

    def formfield_for_dbfield(self, db_field, request: HttpRequest, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        # The case is chosen, not edited from here: no add/change/view buttons beside it.
        if db_field.name == "case":
            field.widget = getattr(field.widget, "widget", field.widget)
        return field

    @admin.display(description=_("sent so far"))
    def sent(self, obj: OutcomeMailing) -> int:
        return obj.mails.filter(mail_status="sent").count()

    def save_model(self, request: HttpRequest, obj: OutcomeMailing, form, change: bool) -> None:
        try:
            mailing = outcome.mail_outcome(form.cleaned_data["case"], request.user)
        except outcome.AlreadyMailed:
            self.message_user(request, _("The outcome of this case was mailed already."), messages.WARNING)
            return
        obj.pk = mailing.pk
        self.message_user(
            request,
            ngettext(
                "The outcome goes to %(count)s signer in the next minutes.",
                "The outcome goes to %(count)s signers in the next minutes.",
                mailing.recipients,
            )
            % {"count": mailing.recipients},
            messages.SUCCESS,
        )

    def response_add(self, request: HttpRequest, obj: OutcomeMailing, post_url_continue=None):
        return redirect(reverse("admin:petitions_outcomemailing_changelist"))

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
