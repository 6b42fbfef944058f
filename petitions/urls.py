"""Petition pages, under /<language>/petitions/ (the sign URL is what benchmarks drive: keep it stable)."""

from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "petitions"
urlpatterns = [
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("not-me/<str:token>/", views.remove, name="remove"),
    path("new-link/", views.new_link, name="new_link"),
    path("no-more-news/<str:token>/", views.stop_news, name="stop_news"),
    path("<slug:campaign>/<slug:case>/sign/", views.sign, name="sign"),
    path("<slug:campaign>/<slug:case>/thanks/", views.thanks, name="thanks"),
    # Share links: the channel, and from a confirmed signer their code (petitions.sharing).
    path("<slug:campaign>/<slug:case>/via/<str:channel>/", views.shared, name="shared"),
    path("<slug:campaign>/<slug:case>/via/<str:channel>/<str:code>/", views.shared, name="shared-by"),
    # The printable list for the authority moved to the organizers' pages; old bookmarks follow it.
    path(
        "<slug:campaign>/<slug:case>/signatures/",
        RedirectView.as_view(pattern_name="organizers:signature-list", query_string=True),
        name="signature_list",
    ),
]
