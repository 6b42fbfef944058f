"""Petition pages, under /<language>/petitions/ (the sign URL is what benchmarks drive: keep it stable)."""

from django.urls import path

from . import views

app_name = "petitions"
urlpatterns = [
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("not-me/<str:token>/", views.remove, name="remove"),
    path("new-link/", views.new_link, name="new_link"),
    path("no-more-news/<str:token>/", views.stop_news, name="stop_news"),
    path("<slug:campaign>/<slug:case>/sign/", views.sign, name="sign"),
    path("<slug:campaign>/<slug:case>/thanks/", views.thanks, name="thanks"),
    path("<slug:campaign>/<slug:case>/signatures/", views.signature_list, name="signature_list"),
]
