"""Custom wagtail-modeladmin views of the review queue: list, inspect, decide (single and bulk).

Thin adapters: permission check, form, one service call, a message, a redirect.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.views.defaults import permission_denied
from wagtail_modeladmin.views import HistoryView, IndexView, InspectView, InstanceSpecificView, WMABaseView

from . import assignment, edits, services
from .forms import (
    ApproveForm,
    ApproveWithEditsForm,
    AssignForm,
    BulkAssignForm,
    BulkDecisionForm,
    RejectForm,
)
from .impact import review_item_source_changes
from .models import ReviewItem
from .selectors import review_item_history, review_item_sources
from .verdicts import review_item_verdicts


class ForbiddenMixin:
    """Answer a real 403. Wagtail's ``require_admin_access`` turns a raised PermissionDenied into a
    redirect to the dashboard, which would hide from clients (and tests) that the action was refused."""

    def is_permitted(self, user) -> bool:
        return self.check_action_permitted(user)

    def dispatch(self, request, *args, **kwargs):
        if not self.is_permitted(request.user):
            return permission_denied(request, PermissionDenied("Not a legal reviewer."))
        return super().dispatch(request, *args, **kwargs)


class ReviewIndexView(ForbiddenMixin, IndexView):
    def is_permitted(self, user) -> bool:
        return self.permission_helper.user_can_list(user)

    def get_queryset(self, request=None):
        # Unknown filters or values of the wrong type in the query string (``?start=``,
        # ``?created_at__gte=tomorrow``): a 400 saying so, where modeladmin would raise a 500.
        try:
            return super().get_queryset(request)
        except IncorrectLookupParameters as err:
            raise BadRequest("The review queue cannot be filtered by that query string.") from err

    def get_search_results(self, request, queryset, search_term):
        # PostgreSQL cannot compare text with a NUL character; nothing stored contains one.
        return super().get_search_results(request, queryset, search_term.replace("\x00", ""))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_approve"] = self.permission_helper.user_can_approve(self.request.user)
        context["bulk_url"] = self.url_helper.get_action_url("bulk")
        context["bulk_assign_url"] = self.url_helper.get_action_url("bulk_assign")
        return context


class ReviewInspectView(ForbiddenMixin, InspectView):
    """The output beside the sources it was given, the decision forms, and the item's history."""

    page_title = "Review"

    def get_page_subtitle(self):
        return f"{self.instance} · {self.instance.get_status_display()}"

    def get_context_data(self, **kwargs):
        item = self.instance
        sources = review_item_sources(item=item)
        can_decide = item.is_pending and self.permission_helper.user_can_approve(self.request.user)
        url = self.url_helper.get_action_url
        context = {
            "item": item,
            "ai_request": item.ai_request,
            "sources": sources,
            "verdicts": review_item_verdicts(item=item, sources=sources),
            "history": review_item_history(item=item)[:50],
            "edit_diff": edits.review_item_edit_diff(item=item),
            "source_changes": review_item_source_changes(item=item),
            **self.assignment_context(item),
            "history_url": url("history", item.pk),
            "can_decide": can_decide,
            **(
                {
                    "approve_form": ApproveForm(auto_id="approve-%s"),
                    "reject_form": RejectForm(auto_id="reject-%s"),
                    "approve_url": url("approve", item.pk),
                    "edit_url": url("approve_with_edits", item.pk),
                    "reject_url": url("reject", item.pk),
                }
                if can_decide
                else {}
            ),
        }
        return super().get_context_data(**context, **kwargs)

    def assignment_context(self, item: ReviewItem) -> dict:
        if not (item.is_pending and self.permission_helper.user_can_approve(self.request.user)):
            return {}
        return {
            "assign_form": AssignForm.for_item(item, user=self.request.user, auto_id="assign-%s"),
            "assign_url": self.url_helper.get_action_url("assign", item.pk),
        }


class ReviewHistoryView(ForbiddenMixin, HistoryView):
    """Wagtail's history listing of the item's audit-log entries, for whoever may see the item."""

    def is_permitted(self, user) -> bool:
        return self.permission_helper.user_can_inspect_obj(user, self.instance)


class DecisionView(ForbiddenMixin, InstanceSpecificView):
    """GET shows the form on its own page; POST (from there or the inspect page) decides."""

    template_name = "review/decision.html"
    form_class = ApproveForm
    page_title = "Approve"
    submit_label = "Approve"
    submit_classname = "button"

    def check_action_permitted(self, user):
        return self.permission_helper.user_can_approve(user)

    @cached_property
    def inspect_url(self) -> str:
        return self.url_helper.get_action_url("inspect", self.instance.pk)

    def get_initial(self) -> dict:
        return {}

    def decide(self, data: dict) -> ReviewItem:
        return services.review_item_approve(item=self.instance, user=self.request.user, note=data["note"])

    def success_message(self, item: ReviewItem) -> str:
        return f"{item} approved: visitors now see it."

    def _not_pending(self):
        messages.warning(self.request, f"{self.instance} has already been decided.")
        return redirect(self.inspect_url)

    def get(self, request, *args, **kwargs):
        if not self.instance.is_pending:
            return self._not_pending()
        form = self.form_class(initial=self.get_initial())
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        form = self.form_class(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        try:
            item = self.decide(form.cleaned_data)
        except services.ReviewDecisionError as err:
            messages.error(request, str(err))
            return redirect(self.inspect_url)
        messages.success(request, self.success_message(item))
        return redirect(self.index_url)

    def get_context_data(self, **kwargs):
        return super().get_context_data(item=self.instance, inspect_url=self.inspect_url, **kwargs)


class ApproveView(DecisionView):
    pass


class ApproveWithEditsView(DecisionView):
    form_class = ApproveWithEditsForm
    page_title = "Approve with edits"
    submit_label = "Approve the edited text"

    def get_initial(self) -> dict:
        return {"edited_text": self.instance.original_text}

    def post(self, request, *args, **kwargs):
        # "Preview changes": the diff of the model's text against the edit, nothing decided yet.
        if "preview" not in request.POST:
            return super().post(request, *args, **kwargs)
        if not self.instance.is_pending:
            return self._not_pending()
        form = self.form_class(request.POST)
        preview = None
        if form.is_valid():
            preview = edits.edit_diff(
                original=self.instance.original_text, edited=form.cleaned_data["edited_text"]
            )
        if request.headers.get("X-Review-Preview") == "fragment":
            # The live preview as the reviewer types: the diff alone, rendered (and escaped) here.
            if preview is None:
                return HttpResponse("", status=400)
            return TemplateResponse(request, "review/includes/edit_preview.html", {"preview": preview})
        return self.render_to_response(self.get_context_data(form=form, preview=preview))

    def decide(self, data: dict) -> ReviewItem:
        return services.review_item_approve_with_edits(
            item=self.instance, user=self.request.user, edited_text=data["edited_text"], note=data["note"]
        )

    def success_message(self, item: ReviewItem) -> str:
        if item.status == ReviewItem.Status.APPROVED:
            return f"{item} approved unchanged (the text was not edited)."
        return f"{item} approved with edits: visitors now see the edited text."


class RejectView(DecisionView):
    form_class = RejectForm
    page_title = "Reject"
    submit_label = "Reject"
    submit_classname = "button no"

    def decide(self, data: dict) -> ReviewItem:
        return services.review_item_reject(item=self.instance, user=self.request.user, note=data["note"])

    def success_message(self, item: ReviewItem) -> str:
        return f"{item} rejected: visitors see a neutral message."


class AssignView(ForbiddenMixin, InstanceSpecificView):
    """Assign a pending item to oneself, a colleague or nobody: a POST from the inspect page (GET
    shows the same form on its own page). Only those who may decide may assign."""

    template_name = "review/decision.html"
    page_title = "Assign"
    submit_label = "Assign"
    submit_classname = "button"

    def check_action_permitted(self, user):
        return self.permission_helper.user_can_approve(user)

    @cached_property
    def inspect_url(self) -> str:
        return self.url_helper.get_action_url("inspect", self.instance.pk)

    def get(self, request, *args, **kwargs):
        form = AssignForm.for_item(self.instance, user=request.user)
        return self.render_to_response(self.get_context_data(form=form))

    def post(self, request, *args, **kwargs):
        form = AssignForm(request.POST, user=request.user)
        if not form.is_valid():
            response = self.render_to_response(self.get_context_data(form=form))
            response.status_code = 400
            return response
        try:
            item = assignment.review_item_assign(
                item=self.instance, assignee=form.cleaned_data["assignee"], user=request.user
            )
        except assignment.ReviewAssignmentError as err:
            messages.error(request, str(err))
            return redirect(self.inspect_url)
        if item.assignee is None:
            messages.success(request, f"{item} is unassigned.")
        else:
            messages.success(request, f"{item} is assigned to {assignment.reviewer_label(item.assignee)}.")
        return redirect(self.inspect_url)

    def get_context_data(self, **kwargs):
        return super().get_context_data(item=self.instance, inspect_url=self.inspect_url, **kwargs)


class ReviewBulkAssignView(ForbiddenMixin, WMABaseView):
    """Assign the items ticked in the queue: GET (the queue's "Assign…" button) confirms and asks
    to whom, POST assigns. Only those who may decide may assign."""

    template_name = "review/bulk_assign.html"
    page_title = "Assign several items"

    def check_action_permitted(self, user):
        return self.permission_helper.user_can_approve(user)

    def get(self, request, *args, **kwargs):
        form = BulkAssignForm(request.GET, user=request.user)
        form.is_valid()
        if "id" in form.errors:
            messages.warning(request, "Select at least one pending item, then Assign.")
            return redirect(self.index_url)
        items = form.cleaned_data["id"]
        form = BulkAssignForm(user=request.user, initial={"id": items, "assignee": "me"})
        return self.render_to_response(self.get_context_data(form=form, items=items))

    def post(self, request, *args, **kwargs):
        form = BulkAssignForm(request.POST, user=request.user)
        if not form.is_valid():
            response = self.render_to_response(
                self.get_context_data(form=form, items=form.cleaned_data.get("id") or [])
            )
            response.status_code = 400
            return response
        assignee = form.cleaned_data["assignee"]
        outcome = assignment.review_items_assign_bulk(
            item_ids=[item.pk for item in form.cleaned_data["id"]], assignee=assignee, user=request.user
        )
        to = assignment.reviewer_label(assignee) if assignee is not None else "nobody"
        messages.success(request, f"{len(outcome.assigned)} item(s) assigned to {to}.")
        if outcome.skipped:
            messages.warning(
                request, f"{len(outcome.skipped)} item(s) had already been decided and were skipped."
            )
        return redirect(self.index_url)


class ReviewBulkView(ForbiddenMixin, WMABaseView):
    """Several items at once: the list's checkboxes lead here (GET) to confirm, and POST decides."""

    template_name = "review/bulk_confirm.html"
    page_title = "Decide on several items"

    def check_action_permitted(self, user):
        return self.permission_helper.user_can_approve(user)

    def get(self, request, *args, **kwargs):
        form = BulkDecisionForm(request.GET)
        form.is_valid()
        if "id" in form.errors or "action" in form.errors:
            messages.warning(request, "Select at least one pending item, then Approve or Reject.")
            return redirect(self.index_url)
        form = BulkDecisionForm(initial=form.cleaned_data)
        return self.render_to_response(self.get_context_data(form=form, items=form.initial["id"]))

    def post(self, request, *args, **kwargs):
        form = BulkDecisionForm(request.POST)
        if not form.is_valid():
            items = form.cleaned_data.get("id") or []
            return self.render_to_response(self.get_context_data(form=form, items=items))
        data = form.cleaned_data
        outcome = services.review_items_decide_bulk(
            item_ids=[item.pk for item in data["id"]],
            user=request.user,
            decision=data["action"],
            note=data["note"],
        )
        verb = "approved" if data["action"] == "approve" else "rejected"
        messages.success(request, f"{len(outcome.decided)} item(s) {verb}.")
        if outcome.skipped:
            messages.warning(
                request, f"{len(outcome.skipped)} item(s) had already been decided and were skipped."
            )
        return redirect(self.index_url)

    def get_context_data(self, **kwargs):
        form = kwargs["form"]
        action = form.data.get("action") if form.is_bound else form.initial.get("action")
        return super().get_context_data(action=action, **kwargs)
