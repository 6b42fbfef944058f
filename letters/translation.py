"""Which letters' rows are written per language (django-modeltranslation adds one column a language)."""

from modeltranslation.translator import TranslationOptions, register

from .models import RejectionReason


@register(RejectionReason)
class RejectionReasonTranslationOptions(TranslationOptions):
    # Moderators pick the reason in the admin's language.
    fields = ("label",)
