from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from ai_core.api import urls as ai_api_urls
from content import views as content_views
from content.api import urls as ask_urls
from site_config.health import healthz, healthz_live
from site_config.metrics import metrics

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/live", healthz_live, name="healthz_live"),
    path("metrics", metrics, name="metrics"),
    # One namespace for the AI request API: ai_core's endpoints and the site's page-aware ask/.
    path("api/ai/", include((ai_api_urls.urlpatterns + ask_urls.urlpatterns, "ai_api"))),
    path("ask/", content_views.ask_page, name="ask"),
    path("ask/r/<uuid:request_id>/", content_views.ask_result, name="ask_result"),
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]

# A database out of reach is answered with 503 and Retry-After, not a server error.
handler500 = "site_config.views.server_error"
