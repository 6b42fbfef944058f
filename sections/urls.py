"""The hub's pages under /<language>/ (for organizers), and at the root its public JSON, the endpoint sections
push to, and the case packs."""

from django.urls import path

from . import views

app_name = "sections"
urlpatterns = [
    path("staff/sections/", views.sections_page, name="staff"),
    path("staff/sections/upload/", views.upload, name="upload"),
    path("staff/sections/<int:pk>/held/", views.decide_held, name="decide-held"),
]
root_urlpatterns = [
    path("api/v1/movement", views.movement_json, name="movement-json"),
    path("api/v1/sections/totals", views.push_totals, name="push-totals"),
    path("api/v1/case-packs/<slug:key>.zip", views.case_pack, name="case-pack"),
]
