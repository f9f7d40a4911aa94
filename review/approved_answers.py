"""Approved answers in the admin, under Review: what reviewers' approvals now answer, how often,
from which sources, and Retire.

Reads and writes go through ai_core's public interface (``ai_core.answers.api``): the store is
ai_core's, the decision to take an answer out of service is a reviewer's. Who may look follows the
review queue's rule; who may retire: holders of ``ai_core.retire_approvedanswer`` and the
reviewers who may approve (retiring is the undoing of an approval).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST
from wagtail.admin.menu import MenuItem
from wagtail.log_actions import log
from wagtail.models import Page

from ai_core.answers.api import ApprovedAnswer, approved_answer_retire, approved_answers_for_admin

from .admin import ReviewPermissionHelper
from .selectors import APPROVE_PERMISSION

RETIRE_PERMISSION = "ai_core.retire_approvedanswer"
ACTION_RETIRE = "review.retire_approved_answer"
PAGE_SIZE = 50
STATUSES = {"": "All", **dict(ApprovedAnswer.Status.choices)}


def _can_list(user) -> bool:
    return ReviewPermissionHelper(ApprovedAnswer).user_can_list(user)


def can_retire(user) -> bool:
    return user.is_active and (user.has_perm(RETIRE_PERMISSION) or user.has_perm(APPROVE_PERMISSION))


@require_GET
def approved_answer_index(request: HttpRequest) -> HttpResponse:
    if not _can_list(request.user):
        raise PermissionDenied
    status = request.GET.get("status", ApprovedAnswer.Status.ACTIVE)
    if status not in STATUSES:
        status = ApprovedAnswer.Status.ACTIVE
    # PostgreSQL cannot compare text with a NUL character; nothing stored contains one.
    search = request.GET.get("q", "")[:200].replace("\x00", "")
    answers = approved_answers_for_admin(status=status or None, search=search)
    page = Paginator(answers, PAGE_SIZE).get_page(request.GET.get("p"))
    # ai_core keeps page ids; the admin shows the page asked on by title (one query per page).
    asked_on = {a.page_id for a in page.object_list if a.page_id}
    titles = dict(Page.objects.filter(pk__in=asked_on).values_list("pk", "title")) if asked_on else {}
    for answer in page.object_list:
        answer.asked_on_title = (
            titles.get(answer.page_id, f"page #{answer.page_id}") if answer.page_id else ""
        )
    return TemplateResponse(
        request,
        "review/approved_answers.html",
        {
            "header_title": "Approved answers",
            "page_obj": page,
            "status": status,
            "statuses": STATUSES.items(),
            "search": search,
            "can_retire": can_retire(request.user),
        },
    )


@require_POST
def approved_answer_retire_view(request: HttpRequest, answer_id: int) -> HttpResponse:
    if not can_retire(request.user):
        raise PermissionDenied
    answer = ApprovedAnswer.objects.filter(pk=answer_id).first()
    if answer is None:
        raise Http404("No such approved answer.")
    if not answer.is_active:
        messages.warning(
            request, f"This answer is already out of service ({answer.get_status_display().lower()})."
        )
    else:
        answer = approved_answer_retire(answer=answer, user=request.user)
        log(
            instance=answer, action=ACTION_RETIRE, user=request.user, data={"question": answer.question[:200]}
        )
        messages.success(request, "Retired: visitors who ask this question again get a fresh answer.")
    return redirect(reverse("review_approved_answers"))


def admin_urls():
    return [
        path("review/approved-answers/", approved_answer_index, name="review_approved_answers"),
        path(
            "review/approved-answers/<int:answer_id>/retire/",
            approved_answer_retire_view,
            name="review_approved_answer_retire",
        ),
    ]


class ApprovedAnswersMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return _can_list(request.user)


def menu_item():
    # Right after the review queue (menu_order 250), so it reads as part of Review.
    return ApprovedAnswersMenuItem(
        "Approved answers", reverse("review_approved_answers"), icon_name="tick-inverse", order=251
    )


def register_log_action(actions) -> None:
    actions.register_action(ACTION_RETIRE, "Retire approved answer", "Approved answer retired from reuse")
