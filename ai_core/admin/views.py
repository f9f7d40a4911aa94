"""Admin views for prompts: publishing goes through the golden-case gate; the routing table."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.snippets.views.snippets import CreateView, EditView

from ai_core import conf
from ai_core.routing import routing_table
from ai_core.selectors import cache_hit_rates
from ai_core.services.prompt_evals import prompt_eval_request
from ai_core.services.prompt_sync import prompt_routing_rows


class GatedPublishMixin:
    """Publish = queue the revision's golden cases; the Celery task publishes it if they pass.

    The revision has already been saved as a draft when ``publish_action`` runs, so nothing is
    lost: the editor lands back on the edit page, whose status panel shows the run. No provider is
    called in this request.
    """

    def publish_action(self):
        revision = self.object.latest_revision
        prompt_eval_request(prompt=self.object, revision=revision, user=self.request.user)
        messages.info(
            self.request,
            f"Saved {revision.object_str} as a draft and queued its golden cases against "
            f"'{conf.default_generation_alias()}'. It is published automatically if they pass; "
            "the result appears under “Golden cases” below.",
        )
        return redirect(self.get_edit_url())


class PromptCreateView(GatedPublishMixin, CreateView):
    pass


class PromptEditView(GatedPublishMixin, EditView):
    pass


class RoutingView(WagtailAdminTemplateMixin, TemplateView):
    """Read-only: tiers map to models in settings (AI_CORE['MODEL_TIERS']), prompts name a tier."""

    page_title = "Model routing"
    header_icon = "resubmit"
    template_name = "ai_core/admin/routing.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        aliases, prompts = prompt_routing_rows()
        context.update(
            tiers=routing_table(),
            aliases=aliases,
            prompts=prompts,
            default_provider=conf.default_generation_alias(),
            configured_providers=sorted(conf.provider_configs()),
            circuits=_circuits(),
            caching=cache_hit_rates(),
        )
        return context


def _circuits() -> list[dict] | None:
    """Circuit breaker states from Redis; None (shown as unavailable) when Redis is down."""
    from ai_core.resilience.runtime import breaker_states

    try:
        return breaker_states()
    except Exception:  # noqa: BLE001 - the routing page must render even when Redis is down
        return None
