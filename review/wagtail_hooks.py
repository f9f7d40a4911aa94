"""Wagtail registrations of the review app. Registration only: the code lives in its modules."""

from django.templatetags.static import static
from django.utils.html import format_html
from wagtail import hooks

from . import approved_answers
from .admin import ReviewItemAdmin
from .audit import FORMATTERS
from .dashboard import ReviewSection
from .impact import dependent_admin_url
from .panels import ReviewQueuePanel

# What wagtail_modeladmin.options.modeladmin_register does, keeping the instance for the hooks below.
review_admin = ReviewItemAdmin()
review_admin.register_with_wagtail()


@hooks.register("register_log_actions")
def register_review_log_actions(actions):
    for action, formatter in FORMATTERS.items():
        actions.register_action(action)(formatter)


@hooks.register("construct_homepage_panels")
def add_review_queue_panel(request, panels):
    if review_admin.permission_helper.user_can_approve(request.user):
        panels.append(ReviewQueuePanel(index_url=review_admin.url_helper.index_url))


# The "Review queue" section of AI → Usage dashboard (ai_core/admin/dashboard/sections.py).
hooks.register("register_ai_dashboard_section", ReviewSection)


@hooks.register("insert_global_admin_css")
def review_admin_css():
    # Global because the menu badge is on every admin page.
    return format_html('<link rel="stylesheet" href="{}">', static("review/css/review-admin.css"))


# Links from the page editor's AI tab ("What depends on this page", content/impact.py) to review screens.
hooks.register("ai_dependent_admin_url", dependent_admin_url)


@hooks.register("ai_dependents_readable")
def review_queue_readable(*, user) -> bool:
    # Visitors' questions in the page editor's AI tab: for those who may read the review queue.
    return review_admin.permission_helper.user_can_list(user)


# Approved answers (review/approved_answers.py): listed under Review, with Retire.
hooks.register("register_admin_urls", approved_answers.admin_urls)
hooks.register("register_admin_menu_item", approved_answers.menu_item)
hooks.register("register_log_actions", approved_answers.register_log_action)
