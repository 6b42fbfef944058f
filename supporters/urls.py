"""The supporters' pages, under /<language>/supporters/."""

from django.urls import path

from . import views

app_name = "supporters"
urlpatterns = [
    path("your-data/", views.your_data, name="your-data"),
    path("your-data/<str:token>/", views.your_data_page, name="your-data-page"),
    path("your-data/<str:token>/download/", views.your_data_download, name="your-data-download"),
    path("post/<slug:campaign>/<slug:case>/<str:network>/", views.post, name="post"),
    path("mastodon/<slug:campaign>/<slug:case>/", views.mastodon, name="mastodon"),
    path("image/<slug:campaign>/<slug:case>.png", views.share_image, name="share-image"),
    path("mailbox/", views.mailbox, name="mailbox"),
    path("mailbox/<str:name>/", views.mailbox_mail, name="mailbox-mail"),
]
