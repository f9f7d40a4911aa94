from celery import shared_task


@shared_task(name="budgets.reset_daily", ignore_result=True, soft_time_limit=60, time_limit=90)
def reset_daily_budgets() -> int:
    from .services import budget_reset_daily

    return budget_reset_daily()


@shared_task(name="budgets.check_alerts", ignore_result=True, soft_time_limit=60, time_limit=90)
def check_budget_alerts() -> int:
    """Beat task: raise today's cost alerts (the check after each request covers the rest)."""
    from .alerts import budget_alerts_check

    return len(budget_alerts_check())


@shared_task(name="budgets.check_alerts_for_request", ignore_result=True, soft_time_limit=30, time_limit=45)
def check_budget_alerts_for_request(prompt_key: str, user_id: int | None) -> int:
    """Queued when a request's cost is settled: only its prompt key and user are checked."""
    from .alerts import budget_alerts_check_for_request

    return len(budget_alerts_check_for_request(prompt_key=prompt_key, user_id=user_id))


@shared_task(
    name="budgets.send_alert_email",
    ignore_result=True,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OSError,),  # smtplib errors included
    retry_backoff=True,
    max_retries=5,
)
def send_budget_alert_email(alert_id: int) -> bool:
    from .alerts import budget_alert_email_send

    return budget_alert_email_send(alert_id=alert_id)
