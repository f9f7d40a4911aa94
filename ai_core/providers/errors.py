"""Provider failures, normalised so the resilience layer never inspects SDK exception types."""

from __future__ import annotations


class ProviderError(Exception):
    """Base class. ``retryable`` tells the fallback chain whether another attempt may help."""

    retryable = False
    code = "provider_error"

    def __init__(self, message: str, *, provider: str = "", model: str = "", status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.model = model
        self.status = status


class ProviderRateLimited(ProviderError):
    retryable = True
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderOverloaded(ProviderError):
    retryable = True
    code = "overloaded"


class ProviderServerError(ProviderError):
    retryable = True
    code = "server_error"


class ProviderTimeout(ProviderError):
    retryable = True
    code = "timeout"


class ProviderConnectionError(ProviderError):
    retryable = True
    code = "connection_error"


class ProviderStreamInterrupted(ProviderError):
    """The stream ended before the provider said it was done; partial text is kept on the error."""

    retryable = True
    code = "stream_interrupted"

    def __init__(self, message: str, *, partial_text: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.partial_text = partial_text


class ProviderBadRequest(ProviderError):
    code = "bad_request"


class ProviderAuthError(ProviderError):
    code = "auth_error"
