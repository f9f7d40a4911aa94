"""The review queue in Wagtail's admin, built with wagtail-modeladmin (as the product design names it).

Registered from ``wagtail_hooks``; the views themselves live in ``review.views``.
"""

from __future__ import annotations

from django.contrib.admin import SimpleListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.urls import re_path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.timesince import timesince
from wagtail.admin.admin_url_finder import register_admin_url_finder
from wagtail.admin.ui.sidebar import LinkMenuItem as LinkMenuItemComponent
from wagtail_modeladmin.helpers import AdminURLHelper, ButtonHelper, PermissionHelper
from wagtail_modeladmin.menus import ModelAdminMenuItem
from wagtail_modeladmin.options import ModelAdmin

from . import rules, views
from .assignment import review_assignable_users, review_items_filter_by_assignee, reviewer_label
from .conf import review_settings
from .models import ReviewItem
from .selectors import APPROVE_PERMISSION, review_pending_count

DECISION_ACTIONS = ("approve", "approve_with_edits", "reject")
# Actions on several items, which like "index" take no primary key.
LIST_ACTIONS = ("bulk", "bulk_assign")


class ReviewPermissionHelper(PermissionHelper):
    """Viewing and deciding are separate: only the approve permission (the "Legal reviewers"
    group) may act; who may look is configurable (``EDITORS_CAN_VIEW``). Nothing is created,
    edited or deleted through the admin: items come from the gate, decisions from the actions."""

    def user_can_approve(self, user) -> bool:
        return user.is_active and user.has_perm(APPROVE_PERMISSION)

    def user_can_list(self, user) -> bool:
        if self.user_can_approve(user) or user.has_perm("review.view_reviewitem"):
            return True
        return review_settings().editors_can_view and user.has_perm("wagtailadmin.access_admin")

    def user_can_inspect_obj(self, user, obj) -> bool:
        return self.user_can_list(user)

    def user_can_create(self, user) -> bool:
        return False

    def user_can_edit_obj(self, user, obj) -> bool:
        return False

    def user_can_delete_obj(self, user, obj) -> bool:
        return False


class ReviewURLHelper(AdminURLHelper):
    """Adds ``bulk``, which like ``index`` is not about one object. Item URLs take digits only:
    modeladmin's default ``[-\\w]+`` let ``/inspect/abc/`` reach the integer primary key lookup,
    which raised ValueError (a 500) instead of resolving to nothing (a 404)."""

    def _get_object_specific_action_url_pattern(self, action):
        return rf"^{self.base_url_path}/{action}/(?P<instance_pk>[0-9]+)/$"

    def get_action_url_pattern(self, action):
        if action in LIST_ACTIONS:
            return self._get_action_url_pattern(action)
        return super().get_action_url_pattern(action)

    def get_action_url(self, action, *args, **kwargs):
        if action in LIST_ACTIONS:
            return reverse(self.get_action_url_name(action))
        return super().get_action_url(action, *args, **kwargs)


class ReviewButtonHelper(ButtonHelper):
    """Decision buttons only for pending items and only for users who may decide."""

    LABELS = {"approve": "Approve", "approve_with_edits": "Approve with edits", "reject": "Reject"}

    def decision_button(self, pk, action: str) -> dict:
        classes = ["button-small"] + (["button-secondary"] if action != "approve" else [])
        if action == "reject":
            classes.append("no")
        return {
            "url": self.url_helper.get_action_url(action, pk),
            "label": self.LABELS[action],
            "classname": self.finalise_classname(classes),
            "title": f"{self.LABELS[action]} this output",
        }

    def get_buttons_for_obj(self, obj, exclude=None, classnames_add=None, classnames_exclude=None):
        exclude = exclude or []
        buttons = super().get_buttons_for_obj(obj, exclude, classnames_add, classnames_exclude)
        if obj.is_pending and self.permission_helper.user_can_approve(self.request.user):
            buttons += [
                self.decision_button(obj.pk, action) for action in DECISION_ACTIONS if action not in exclude
            ]
        return buttons


class ReviewMenuItem(ModelAdminMenuItem):
    """The "Review" menu item, with the number of pending items as a badge for those who decide."""

    def render_component(self, request):
        attrs = dict(self.attrs)
        if self.model_admin.permission_helper.user_can_approve(request.user):
            pending = review_pending_count()
            if pending:
                attrs["data-review-pending"] = str(pending)
                attrs["title"] = f"{pending} pending review"
        return LinkMenuItemComponent(
            self.name, self.label, self.url, icon_name=self.icon_name, classname=self.classname, attrs=attrs
        )


class ReasonFilter(SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return list(rules.REASON_LABELS.items())

    def queryset(self, request, queryset):
        return queryset.filter(reasons__contains=[self.value()]) if self.value() else queryset


class PromptKeyFilter(SimpleListFilter):
    title = "prompt"
    parameter_name = "prompt_key"

    def lookups(self, request, model_admin):
        keys = ReviewItem.objects.values_list("ai_request__prompt_key", flat=True).distinct().order_by()
        return [(key, key) for key in sorted(set(keys))]

    def queryset(self, request, queryset):
        return queryset.filter(ai_request__prompt_key=self.value()) if self.value() else queryset


class EscalatedFilter(SimpleListFilter):
    title = "escalated"
    parameter_name = "escalated"

    def lookups(self, request, model_admin):
        return [("yes", "Escalated"), ("no", "Not escalated")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(escalated_at__isnull=self.value() == "no")
        return queryset


class AssigneeFilter(SimpleListFilter):
    title = "assignee"
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        people = [
            (str(u.pk), reviewer_label(u)) for u in review_assignable_users() if u.pk != request.user.pk
        ]
        return [("me", "Assigned to me"), ("none", "Unassigned"), *people]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return review_items_filter_by_assignee(
                queryset=queryset, assignee=self.value(), user=request.user
            )
        except ValueError as err:
            raise IncorrectLookupParameters(str(err)) from err


class ReviewItemAdmin(ModelAdmin):
    model = ReviewItem
    menu_label = "Review"
    menu_icon = "tasks"
    menu_order = 250
    add_to_admin_menu = True
    inspect_view_enabled = True
    inspect_view_class = views.ReviewInspectView
    index_view_class = views.ReviewIndexView
    history_view_class = views.ReviewHistoryView
    index_template_name = "review/index.html"
    inspect_template_name = "review/inspect.html"
    permission_helper_class = ReviewPermissionHelper
    url_helper_class = ReviewURLHelper
    button_helper_class = ReviewButtonHelper
    list_display = ("output", "priority_tag", "status_tag", "reason_list", "prompt", "assigned", "waiting")
    list_display_add_buttons = "output"
    list_filter = (
        "status",
        "priority",
        "kind",
        AssigneeFilter,
        ReasonFilter,
        PromptKeyFilter,
        EscalatedFilter,
        "created_at",
    )
    list_select_related = ("ai_request", "reviewer", "assignee")
    list_per_page = 50
    search_fields = ("original_text", "edited_text", "decision_note", "ai_request__prompt_key")
    # Highest priority first, then the longest-waiting.
    ordering = ["-priority", "created_at"]

    def get_list_display(self, request):
        if self.permission_helper.user_can_approve(request.user):
            return ("select", *self.list_display)
        return self.list_display

    def get_menu_item(self, order=None):
        return ReviewMenuItem(self, order or self.get_menu_order())

    # --- Columns

    def select(self, obj: ReviewItem) -> str:
        if not obj.is_pending:
            return ""
        return format_html(
            '<input type="checkbox" name="id" value="{}" form="review-bulk" aria-label="Select item {}">',
            obj.pk,
            obj.pk,
        )

    select.short_description = ""

    def output(self, obj: ReviewItem) -> str:
        return Truncator(obj.original_text or "(empty output)").chars(160)

    def priority_tag(self, obj: ReviewItem) -> str:
        return format_html(
            '<span class="w-status review-priority review-priority--{}">{}</span>',
            obj.get_priority_display().lower(),
            obj.get_priority_display(),
        )

    priority_tag.short_description = "Priority"
    priority_tag.admin_order_field = "priority"

    def status_tag(self, obj: ReviewItem) -> str:
        escalated = (
            format_html(' <span class="w-status w-status--label">escalated</span>')
            if obj.escalated_at
            else ""
        )
        return format_html('<span class="w-status">{}</span>{}', obj.get_status_display(), escalated)

    status_tag.short_description = "Status"
    status_tag.admin_order_field = "status"

    def reason_list(self, obj: ReviewItem) -> str:
        reasons = format_html_join(
            " ", '<span class="w-status w-status--label">{}</span>', ((r,) for r in obj.reason_labels)
        )
        if obj.kind == ReviewItem.Kind.SOURCE_CHANGED:
            # An approved answer whose cited passage changed on publish (review/impact.py).
            return format_html(
                '<span class="w-status w-status--primary" data-review-kind="{}">{}</span> {}',
                obj.kind,
                obj.get_kind_display(),
                reasons,
            )
        return reasons

    reason_list.short_description = "Reasons"

    def prompt(self, obj: ReviewItem) -> str:
        return f"{obj.ai_request.prompt_key} v{obj.ai_request.prompt_version}"

    prompt.admin_order_field = "ai_request__prompt_key"

    def assigned(self, obj: ReviewItem) -> str:
        return reviewer_label(obj.assignee) if obj.assignee_id else "—"

    assigned.short_description = "Assignee"
    assigned.admin_order_field = "assignee__" + get_user_model().USERNAME_FIELD

    def waiting(self, obj: ReviewItem) -> str:
        return timesince(obj.created_at)

    waiting.short_description = "Age"
    waiting.admin_order_field = "-created_at"

    # --- URLs: the list, inspect and history, the decisions; no create, edit or delete.

    def register_admin_url_finders(self):
        """Wagtail links an item (e.g. in Reports > Site history) to its inspect page; the default
        finder would reverse an "edit" URL that this admin does not have."""
        model_admin = self

        class ReviewItemURLFinder:
            def __init__(self, user):
                self.user = user

            def get_edit_url(self, instance):
                if self.user is None or model_admin.permission_helper.user_can_inspect_obj(
                    self.user, instance
                ):
                    return model_admin.url_helper.get_action_url("inspect", instance.pk)
                return None

        register_admin_url_finder(ReviewItem, ReviewItemURLFinder)

    def _decision_view(self, view_class):
        def view(request, instance_pk):
            return view_class.as_view(model_admin=self, instance_pk=instance_pk)(request)

        return view

    def bulk_view(self, request):
        return views.ReviewBulkView.as_view(model_admin=self)(request)

    def bulk_assign_view(self, request):
        return views.ReviewBulkAssignView.as_view(model_admin=self)(request)

    def get_admin_urls_for_registration(self):
        helper = self.url_helper
        routes = [
            ("index", self.index_view),
            ("bulk", self.bulk_view),
            ("bulk_assign", self.bulk_assign_view),
            ("inspect", self.inspect_view),
            ("history", self.history_view),
            ("approve", self._decision_view(views.ApproveView)),
            ("approve_with_edits", self._decision_view(views.ApproveWithEditsView)),
            ("reject", self._decision_view(views.RejectView)),
            ("assign", self._decision_view(views.AssignView)),
        ]
        return tuple(
            re_path(helper.get_action_url_pattern(action), view, name=helper.get_action_url_name(action))
            for action, view in routes
        )
