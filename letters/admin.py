"""Moderation of letters (Moderators) and family contacts and digests (Organizers) in Django admin.

Every approve and reject goes through `letters.services.moderation`, whether from the list's actions or from
the buttons on a letter's page. Letter text is only ever displayed through the admin's escaping; the writer's
email is shown to superusers only, and no one else may look rows up by it, or by any other personal field
(`PersonalDataAdmin`).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_countries.fields import Country
from modeltranslation.admin import TranslationAdmin

from campaign.lib.admin import PersonalDataAdmin

from . import tasks
from .forms import LetterActionForm
from .images import private_image_response
from .models import Digest, DigestItem, FamilyContact, FlaggedWord, Letter, RejectionReason
from .services import digests, moderation


class StatusFilter(admin.SimpleListFilter):
    """Opens on the letters waiting for a moderator (as djangoproject.com's members/admin.py StatusFilter)."""

    title = _("status")
    parameter_name = "status"
    default = Letter.Status.PENDING

    def lookups(self, request, model_admin):
        return [*Letter.Status.choices, ("all", _("All"))]

    def value(self):
        return super().value() or self.default

    def queryset(self, request, queryset):
        value = self.value()
        if value == "all":
            return queryset
        return queryset.filter(status=value)

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("letter", _("Text only")), ("drawing", _("With a drawing or photo"))]

    def queryset(self, request, queryset):
        if self.value() == "letter":
            return queryset.filter(image="")
        if self.value() == "drawing":
            return queryset.exclude(image="")
        return queryset


class FlagFilter(admin.SimpleListFilter):
    title = _("flag")
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return [("any", _("Any flag")), ("none", _("No flag")), *Letter.Flag.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "any":
            return queryset.exclude(flags="")
        if value == "none":
            return queryset.filter(flags="")
        if value in Letter.Flag.values:
            # Codes are whole words and none is part of another.
            return queryset.filter(flags__contains=value)
        return queryset


def _active_reason(value: str | None) -> RejectionReason | None:
    """The reason chosen in the action bar or on the letter's page (a select of RejectionReason ids)."""
    if not value or not value.isdigit():
        return None
    return RejectionReason.objects.filter(active=True, pk=int(value)).first()


class CountryFilter(admin.SimpleListFilter):
    """Only the countries letters came from, not the whole world."""

    title = _("country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        codes = Letter.objects.order_by().values_list("country", flat=True).distinct()
        return sorted(((code, Country(code).name) for code in codes if code), key=lambda choice: str(choice[1]))

    def queryset(self, request, queryset):
        return queryset.filter(country=self.value()) if self.value() else queryset


@admin.register(Letter)
class LetterAdmin(PersonalDataAdmin):
    list_display = (
        "created_at",
        "case",
        "first_name",
        "country",
        "language",
        "excerpt",
        "flag_labels",
        "status",
        "claim",
    )
    list_display_links = ("created_at", "excerpt")
    list_filter = (StatusFilter, FlagFilter, KindFilter, "case", "language", CountryFilter)

    class Media:
        css = {"all": ("css/letters-admin.css",)}

    list_select_related = ("case", "claimed_by")
    search_fields = ("text",)
    ordering = ("created_at", "pk")
    show_full_result_count = False
    list_per_page = 50
    actions = ["approve_selected", "reject_selected"]
    action_form = LetterActionForm
    change_form_template = "letters/admin/letter_change_form.html"
    change_list_template = "letters/admin/letter_change_list.html"

    moderation_fields = (
        "status",
        "rejection_reason",
        "moderated_by",
        "moderated_at",
        "claimed_by",
        "claimed_until",
        "delivered_at",
    )
    # The flags sit next to the text they are about.
    letter_fields = (
        "case",
        "addressed_to",
        "first_name",
        "country",
        "language",
        "created_at",
        "text",
        "flag_labels",
        "flag_notes",
        "image_preview",
    )
    writer_fields = ("writer_email", "writer_consent", "writer_language", "mail_status", "mail_sent_at")

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": self.letter_fields}), (_("Moderation"), {"fields": self.moderation_fields})]
        if request.user.is_superuser:
            # Moderators never see who wrote a letter; only superusers can, for a legal request.
            fieldsets.append((_("Writer (superusers only)"), {"fields": self.writer_fields}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # Letters are moderated with the buttons, never edited: what the family receives is what was written.
        return self.letter_fields + self.moderation_fields + self.writer_fields

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("message"))
    def excerpt(self, letter: Letter) -> str:
        return Truncator(letter.text).chars(90)

    @admin.display(description=_("flags"))
    def flag_labels(self, letter: Letter) -> str:
        labels = dict(Letter.Flag.choices)
        return ", ".join(str(labels.get(code, code)) for code in letter.flag_list) or "-"

    @admin.display(description=_("being moderated by"))
    def claim(self, letter: Letter) -> str:
        if letter.claimed_by_id and letter.claimed_until and letter.claimed_until > timezone.now():
            return letter.claimed_by.get_username()
        return ""

    @admin.display(description=_("drawing or photo"))
    def image_preview(self, letter: Letter) -> str:
        if not letter.image:
            return "-"
        url = reverse("admin:letters_letter_image", args=[letter.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">'
            '<img src="{}" alt="{}" style="max-width: 480px; max-height: 480px"></a>',
            url,
            url,
            _("Drawing or photo sent with the letter"),
        )

    # --- Actions: bulk moderation ------------------------------------------------------------------------

    @admin.action(description=_("Approve the selected letters"), permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        done = moderation.approve_letters(ids, request.user)
        self._report(request, done, len(ids), ngettext("%d letter approved.", "%d letters approved.", done))

    @admin.action(description=_("Reject the selected letters (choose the reason)"), permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        reason = _active_reason(request.POST.get("rejection_reason"))
        if reason is None:
            self.message_user(request, _("Choose a reason to reject letters."), messages.ERROR)
            return
        ids = list(queryset.values_list("pk", flat=True))
        done = moderation.reject_letters(ids, reason, request.user)
        self._report(request, done, len(ids), ngettext("%d letter rejected.", "%d letters rejected.", done))

    def _report(self, request: HttpRequest, done: int, selected: int, text: str) -> None:
        self.message_user(request, text % done, messages.SUCCESS if done else messages.WARNING)
        if selected > done:
            skipped = selected - done
            self.message_user(
                request,
                ngettext(
                    "%d letter left alone: already moderated or being moderated by someone else.",
                    "%d letters left alone: already moderated or being moderated by someone else.",
                    skipped,
                )
                % skipped,
                messages.WARNING,
            )

    # --- One letter: claim, approve or reject, go to the next -----------------------------------------------

    def get_urls(self):
        own = [
            path("next/", self.admin_site.admin_view(self.next_view), name="letters_letter_next"),
            path("<int:pk>/image/", self.admin_site.admin_view(self.image_view), name="letters_letter_image"),
            path("<int:pk>/moderate/", self.admin_site.admin_view(self.moderate_view), name="letters_letter_moderate"),
        ]
        return own + super().get_urls()

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        extra_context = extra_context or {}
        letter = None
        if request.method == "GET" and object_id.isdigit() and self.has_change_permission(request):
            letter, mine = moderation.claim_letter(int(object_id), request.user)
            if letter is not None and letter.status == Letter.Status.PENDING and not mine:
                self.message_user(
                    request,
                    _("%(user)s is working on this letter until %(time)s. Take the next one instead.")
                    % {
                        "user": letter.claimed_by.get_username() if letter.claimed_by else "?",
                        "time": timezone.localtime(letter.claimed_until).strftime("%H:%M"),
                    },
                    messages.WARNING,
                )
            extra_context["can_moderate"] = letter is not None and letter.status == Letter.Status.PENDING and mine
        extra_context.update(
            {
                "show_save": False,
                "show_save_and_continue": False,
                "show_save_and_add_another": False,
                "reasons": RejectionReason.objects.filter(active=True),
            }
        )
        return super().change_view(request, object_id, form_url, extra_context)

    def next_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        letter = moderation.claim_next_letter(request.user)
        if letter is None:
            self.message_user(request, _("No letter is waiting. Thank you!"), messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:letters_letter_changelist"))
        return HttpResponseRedirect(reverse("admin:letters_letter_change", args=[letter.pk]))

    def image_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        letter = get_object_or_404(Letter, pk=pk)
        if not self.has_view_permission(request, letter):
            raise PermissionDenied
        if not letter.image:
            raise Http404
        return private_image_response(letter)

    def moderate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        return require_POST(self._moderate)(request, pk)

    def _moderate(self, request: HttpRequest, pk: int) -> HttpResponse:
        letter = get_object_or_404(Letter, pk=pk)
        if not self.has_change_permission(request, letter):
            raise PermissionDenied
        decision = request.POST.get("decision")
        if decision == "approve":
            done = moderation.approve_letter(letter, request.user)
            text = _("Letter approved.")
        elif decision == "reject":
            reason = _active_reason(request.POST.get("rejection_reason"))
            if reason is None:
                self.message_user(request, _("Choose a reason to reject this letter."), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:letters_letter_change", args=[pk]))
            done = moderation.reject_letter(letter, reason, request.user)
            text = _("Letter rejected.")
        elif decision == "release":
            moderation.release_claim(letter.pk, request.user)
            return HttpResponseRedirect(reverse("admin:letters_letter_changelist"))
        else:
            return HttpResponseRedirect(reverse("admin:letters_letter_change", args=[pk]))
        if not done:
            text = _("Nothing changed: the letter was already moderated or someone else is on it.")
            self.message_user(request, text, messages.WARNING)
            return HttpResponseRedirect(reverse("admin:letters_letter_change", args=[pk]))
        self.message_user(request, text, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:letters_letter_next"))


@admin.register(RejectionReason)
class RejectionReasonAdmin(TranslationAdmin):
    """Reasons are written in every language: moderators pick them in the admin's language."""

    list_display = ("label", "active", "display_order")
    list_editable = ("active", "display_order")


@admin.register(FlaggedWord)
class FlaggedWordAdmin(admin.ModelAdmin):
    list_display = ("word", "language")
    list_filter = ("language",)
    search_fields = ("word",)


class RecentDigestInline(admin.TabularInline):
    """The contact's digests, newest first: when, what status, how many letters."""

    model = Digest
    fields = ("created_at", "status", "letter_count", "sent_at", "attempts", "last_error")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FamilyContact)
class FamilyContactAdmin(PersonalDataAdmin):
    list_display = (
        "name",
        "case",
        "delivery",
        "email",
        "language",
        "cadence",
        "paused",
        "next_digest_at",
        "failed_attempts",
    )
    list_filter = ("case__campaign", "case", "delivery", "cadence", "paused", "language")
    list_select_related = ("case",)
    search_fields = ("name", "email")
    readonly_fields = ("next_digest_at", "failed_attempts", "created_at")
    actions = ["send_next_digest_now"]
    inlines = [RecentDigestInline]

    @admin.action(description=_("Send the next digest now"), permissions=["change"])
    def send_next_digest_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        contacts = list(queryset.filter(paused=False).values_list("pk", flat=True))
        for contact_id in contacts:
            tasks.send_family_digest.delay_on_commit(contact_id, force=True)
        self.message_user(
            request,
            ngettext(
                "The next digest of %d contact is being sent (if letters wait for them).",
                "The next digests of %d contacts are being sent (if letters wait for them).",
                len(contacts),
            )
            % len(contacts),
            messages.SUCCESS,
        )
        paused = queryset.filter(paused=True).count()
        if paused:
            text = ngettext("%d paused contact skipped.", "%d paused contacts skipped.", paused) % paused
            self.message_user(request, text, messages.WARNING)


class DigestItemInline(admin.TabularInline):
    model = DigestItem
    fields = ("letter", "image_attached")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Digest)
class DigestAdmin(PersonalDataAdmin):
    """What went out, when, to whom, with which letters. Written only by send_family_digest."""

    list_display = ("created_at", "contact", "status", "letter_count", "sent_at", "attempts")
    list_filter = ("status", "contact__case")
    list_select_related = ("contact", "contact__case")
    search_fields = ("contact__name",)
    show_full_result_count = False
    fields = ("contact", "status", "created_at", "sent_at", "attempts", "letter_count", "last_error")
    readonly_fields = fields
    inlines = [DigestItemInline]
    actions = ["send_letters_again"]

    def has_resend_permission(self, request: HttpRequest) -> bool:
        # Whoever manages the family contacts decides whether a family got its letters.
        return request.user.has_perm("letters.change_familycontact")

    @admin.action(
        description=_("Send the letters of the selected digests again (those that may not have arrived)"),
        permissions=["resend"],
    )
    def send_letters_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        digests.resolve_stale_digests(queryset)
        selected = list(queryset.values_list("pk", flat=True))
        contact_ids = digests.resend_uncertain_digests(selected)
        for contact_id in sorted(set(contact_ids)):
            tasks.send_family_digest.delay_on_commit(contact_id, force=True)
        done = len(contact_ids)
        text = ngettext(
            "The letters of %d digest go out again in the next digest of its contact.",
            "The letters of %d digests go out again in the next digest of their contacts.",
            done,
        )
        self.message_user(request, text % done, messages.SUCCESS if done else messages.WARNING)
        if len(selected) > done:
            skipped = len(selected) - done
            text = ngettext(
                "%d digest left alone: only those that may not have arrived are sent again.",
                "%d digests left alone: only those that may not have arrived are sent again.",
                skipped,
            )
            self.message_user(request, text % skipped, messages.WARNING)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


# Translations and letters packs (#13).
from . import pack_admin  # noqa: E402, F401
