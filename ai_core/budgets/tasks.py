from celery import shared_task


@shared_task(name="budgets.reset_daily", ignore_result=True, soft_time_limit=60, time_limit=90)
def reset_daily_budgets() -> int:
    from .services import budget_reset_daily

    return budget_reset_daily()
