"""New rows that belong together, written by one SQL statement.

A visitor's submit stores its ``AIRequest`` and the budget reservation taken for it. Saved one by one
in a transaction that is four round trips to PostgreSQL (BEGIN, two INSERTs, COMMIT); as one
statement (``WITH a AS (INSERT ...) INSERT ...``) it is one, and PostgreSQL runs a single statement
as its own transaction: both rows or neither. Measured by ``bench/submit_profile.py`` and
``bench/http_throughput.py``.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.db import connections, transaction
from django.db.models import Model, signals
from django.db.models.sql import InsertQuery

__all__ = ["insert_together"]


def insert_together(*objs: Model, using: str = "default") -> None:
    """INSERT the new, unsaved ``objs`` in one statement, in the order given.

    Each must be of a concrete model without multi-table inheritance; ``pre_save`` and ``post_save``
    are sent as ``save()`` sends them. Every primary key but the last one's must be known before the
    INSERT (a Python default such as ``uuid4``); the last may be the database's, and is read back.
    Within an outer ``atomic`` block the statement runs in a savepoint, as ``objects.create`` in
    ``atomic`` would; otherwise it commits by itself.
    """
    if not objs:
        return
    connection = connections[using]
    ctes: list[str] = []
    params: list = []
    for position, obj in enumerate(objs):  # every row checked before anything is sent or run
        model, meta = type(obj), obj._meta
        if meta.parents or meta.proxy or not obj._state.adding:
            raise ValueError(f"insert_together() takes new rows of plain concrete models, not {obj!r}")
        if obj.pk is None:
            obj.pk = meta.pk.get_pk_value_on_save(obj)
        if obj.pk is None and position < len(objs) - 1:
            raise ValueError(
                f"{model.__name__} needs its primary key before the INSERT (only the last row's is read back)"
            )
    for position, obj in enumerate(objs):
        model, meta = type(obj), obj._meta
        last = position == len(objs) - 1
        returning = obj.pk is None
        signals.pre_save.send(sender=model, instance=obj, raw=False, using=using, update_fields=None)
        fields = [
            f for f in meta.local_concrete_fields if not f.generated and not (returning and f is meta.pk)
        ]
        query = InsertQuery(model)
        query.insert_values(fields, [obj])
        # as_sql() runs each field's pre_save (auto_now_add and auto_now values land on obj too).
        [(sql, values)] = query.get_compiler(using=using).as_sql()
        if last:
            if returning:
                sql += f" RETURNING {connection.ops.quote_name(meta.pk.column)}"
            statement = f"WITH {', '.join(ctes)} {sql}" if ctes else sql
        else:
            ctes.append(f"inserted_{position} AS ({sql})")
        params.extend(values)
    with transaction.atomic(using=using) if connection.in_atomic_block else nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            if returning:
                objs[-1].pk = cursor.fetchone()[0]
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using
        signals.post_save.send(
            sender=type(obj), instance=obj, created=True, raw=False, using=using, update_fields=None
        )
