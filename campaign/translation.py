"""Which campaign texts are written per language (django-modeltranslation adds one column a language)."""

from modeltranslation.translator import TranslationOptions, register

from .models import Campaign, Case


@register(Campaign)
class CampaignTranslationOptions(TranslationOptions):
    fields = ("name", "intro")


@register(Case)
class CaseTranslationOptions(TranslationOptions):
    fields = (
        "name",
        "role",
        "photo_alt",
        "summary",
        "story",
        "ask",
        "outcome",
        "authority",
        "authority_address",
        "post_text",
    )
