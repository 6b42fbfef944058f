"""Letters' public pages, under /<lang>/letters/."""

from django.urls import path

from . import views

app_name = "letters"
urlpatterns = [
    path("<slug:campaign>/<slug:case>/write/", views.write_letter, name="write"),
    path("drawing/<str:token>/", views.family_image, name="family-image"),
]
