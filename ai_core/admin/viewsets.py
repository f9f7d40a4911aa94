"""Viewsets for the "AI" admin menu: prompt snippets (history, compare, revert are Wagtail's own)
and the model routing table."""

from __future__ import annotations

from django.urls import path
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.tables import LiveStatusTagColumn, UpdatedAtColumn
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from ai_core.budgets.models import BudgetOverride
from ai_core.models import PromptTemplate

from .forms import PromptTemplateForm
from .hardening import (
    PromptChooserViewSet,
    PromptLockView,
    PromptRevisionsCompareView,
    PromptRevisionsUnscheduleView,
    PromptUnlockView,
)
from .panels import GoldenStatusPanel
from .views import PromptCreateView, PromptEditView, RoutingView


class PromptTemplateViewSet(SnippetViewSet):
    model = PromptTemplate
    icon = "code"
    menu_label = "Prompts"
    add_view_class = PromptCreateView
    edit_view_class = PromptEditView  # the revert view is built from it, so reverts are gated too
    # Wagtail's own views, made to answer hostile URLs with a 4xx instead of a 500 (see hardening).
    lock_view_class = PromptLockView
    unlock_view_class = PromptUnlockView
    revisions_unschedule_view_class = PromptRevisionsUnscheduleView
    revisions_compare_view_class = PromptRevisionsCompareView
    chooser_viewset_class = PromptChooserViewSet
    list_display = [
        "key",
        "version",
        "tier",
        "task",
        "review_policy",
        UpdatedAtColumn(),
        LiveStatusTagColumn(),
    ]
    list_filter = ["tier", "task", "review_policy"]
    search_fields = ["key", "description", "system", "user"]
    search_backend_name = None  # a handful of rows: plain database lookups, no search index to keep
    edit_handler = ObjectList(
        [
            GoldenStatusPanel(heading="Golden cases"),
            MultiFieldPanel(
                [
                    FieldRowPanel([FieldPanel("key"), FieldPanel("version")]),
                    FieldPanel("description"),
                ],
                heading="Prompt",
            ),
            MultiFieldPanel(
                [
                    FieldRowPanel([FieldPanel("tier"), FieldPanel("model")]),
                    FieldRowPanel([FieldPanel("task"), FieldPanel("review_policy")]),
                    FieldRowPanel([FieldPanel("max_tokens"), FieldPanel("temperature")]),
                ],
                heading="Routing and limits",
            ),
            MultiFieldPanel(
                [
                    FieldPanel("variables"),
                    FieldPanel("system_variables"),
                    FieldPanel("labels"),
                    FieldPanel("system"),
                    FieldPanel("user"),
                ],
                heading="Template",
                help_text="Write variables as {{ name }}; every one must be declared above.",
            ),
            FieldPanel("golden", heading="Golden case definitions"),
        ],
        base_form_class=PromptTemplateForm,
    )


class RoutingViewSet(ViewSet):
    name = "ai_routing"
    url_prefix = "ai/routing"
    icon = "resubmit"
    menu_label = "Model routing"

    def get_urlpatterns(self):
        return [path("", RoutingView.as_view(), name="index")]


class BudgetOverrideViewSet(ModelViewSet):
    """Per-user daily token budgets that replace the default (AI_BUDGET_USER_DAILY_TOKENS)."""

    model = BudgetOverride
    icon = "user"
    menu_label = "Budgets"
    url_prefix = "ai/budgets"
    add_to_admin_menu = False
    form_fields = ["user", "daily_tokens", "note"]
    list_display = ["user", "daily_tokens", "note", UpdatedAtColumn()]
    search_fields = ["user__username", "user__email", "note"]
    search_backend_name = None


class AIViewSetGroup(SnippetViewSetGroup):
    menu_label = "AI"
    menu_name = "ai"
    menu_icon = "cogs"
    items = (PromptTemplateViewSet, RoutingViewSet, BudgetOverrideViewSet)
    # Other apps add entries to this menu by registering a MenuItem (or a viewset whose
    # ``menu_hook`` is this name) instead of editing this group.
    submenu_hook = "register_ai_menu_item"
