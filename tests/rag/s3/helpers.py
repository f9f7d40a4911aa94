"""Objects and settings for the S3 ingest tests."""

from __future__ import annotations

PUBLIC_BASE = "https://files.example.org/kb"

HTML = "<html><head><title>Travel policy</title></head><body><h2>Hotels</h2><p>Hotel stays are capped at 150 pounds a night.</p></body></html>"
MARKDOWN = "# Expenses guide\n\n## Meals\n\nMeal allowance is 25 pounds per day while travelling.\n"


def configure(settings, **values) -> None:
    settings.AI_CORE = {**settings.AI_CORE, "S3_INGEST": {**settings.AI_CORE["S3_INGEST"], **values}}


def put(client, key: str, body: str, *, acl: str = "public-read", **extra) -> None:
    client.put_object(Bucket="docs", Key=key, Body=body.encode(), ACL=acl, **extra)
