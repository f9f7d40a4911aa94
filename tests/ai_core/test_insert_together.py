"""``insert_together``: a submit's AIRequest and budget reservation are written by one statement,
both or neither."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import signals
from django.test.utils import CaptureQueriesContext

from ai_core.budgets.models import BudgetReservation
from ai_core.models import AIRequest
from ai_core.services.rows import insert_together

pytestmark = pytest.mark.django_db(transaction=True)


def new_pair(tokens: int = 40) -> tuple[AIRequest, BudgetReservation]:
    request = AIRequest(
        session_key="s" * 32, prompt_key="content_classify", prompt_version=2, payload={"text": "x"}
    )
    reservation = BudgetReservation(
        request=request, day=datetime.date(2026, 12, 2), scopes=["budget:user:1"], reserved_tokens=tokens
    )
    return request, reservation


def test_both_rows_are_stored_by_one_statement_and_read_back_as_saved():
    request, reservation = new_pair()
    with CaptureQueriesContext(connection) as queries:
        insert_together(request, reservation)
    assert len(queries) == 1 and queries[0]["sql"].startswith("WITH ")
    assert reservation.pk is not None and not request._state.adding and not reservation._state.adding
    stored = BudgetReservation.objects.select_related("request").get(pk=reservation.pk)
    assert stored.request.pk == request.pk and stored.request.payload == {"text": "x"}
    assert stored.reserved_tokens == 40 and stored.scopes == ["budget:user:1"]
    # auto_now_add values are on the instances as stored, as save() leaves them.
    assert request.created_at == stored.request.created_at and reservation.created_at == stored.created_at


def test_when_the_second_row_fails_the_first_is_not_stored_either():
    request, reservation = new_pair(tokens=-1)  # PositiveIntegerField: the CHECK constraint refuses it
    with pytest.raises(IntegrityError):
        insert_together(request, reservation)
    assert not AIRequest.objects.filter(pk=request.pk).exists()
    assert BudgetReservation.objects.count() == 0


def test_inside_an_outer_transaction_a_failure_rolls_back_only_its_own_rows():
    kept, kept_reservation = new_pair()
    with transaction.atomic():
        insert_together(kept, kept_reservation)
        bad, bad_reservation = new_pair(tokens=-1)
        with pytest.raises(IntegrityError):
            insert_together(bad, bad_reservation)
        # The outer transaction is still usable, as after a failed create() in atomic.
        assert AIRequest.objects.filter(pk=kept.pk).exists()
    assert list(AIRequest.objects.values_list("pk", flat=True)) == [kept.pk]


def test_save_signals_are_sent_as_save_sends_them():
    seen = []

    def pre(sender, instance, **kwargs):
        seen.append(("pre", sender.__name__, instance._state.adding))

    def post(sender, instance, created, **kwargs):
        seen.append(("post", sender.__name__, created))

    signals.pre_save.connect(pre, sender=AIRequest)
    signals.post_save.connect(post, sender=BudgetReservation)
    try:
        insert_together(*new_pair())
    finally:
        signals.pre_save.disconnect(pre, sender=AIRequest)
        signals.post_save.disconnect(post, sender=BudgetReservation)
    assert seen == [("pre", "AIRequest", True), ("post", "BudgetReservation", True)]


def test_a_row_whose_key_the_database_assigns_must_come_last():
    request, reservation = new_pair()
    with pytest.raises(ValueError, match="primary key before the INSERT"):
        insert_together(reservation, request)
    assert AIRequest.objects.count() == 0
