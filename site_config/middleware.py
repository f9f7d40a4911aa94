from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from ai_core.guard import mark_http_request, unmark_http_request
from ai_core.logcontext import bind_log_context, fresh_log_context


class NoModelCallsInRequestMiddleware:
    """Marks the request/response cycle so any provider lookup inside it raises."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        token = mark_http_request(request.path)
        try:
            return self.get_response(request)
        finally:
            unmark_http_request(token)

    async def __acall__(self, request):
        token = mark_http_request(request.path)
        try:
            return await self.get_response(request)
        finally:
            unmark_http_request(token)


class LogContextMiddleware:
    """Each HTTP request starts with an empty log context and drops it at the end; a view about one
    AI request (``<uuid:request_id>`` in its URL: poll, stream, cancel, feedback, the no-JS result
    page) tags its log lines with that id. Submitting binds the new id in ``ai_request_submit``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        with fresh_log_context():
            return self.get_response(request)

    async def __acall__(self, request):
        with fresh_log_context():
            return await self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if view_kwargs.get("request_id"):
            bind_log_context(ai_request_id=view_kwargs["request_id"])


class OneThreadChainMiddleware:
    """Sync only, and last in ``MIDDLEWARE``: under ASGI it makes Django run every middleware above
    it in sync mode, one call chain in the request's own thread.

    Django builds the chain from the inside out and gives each middleware the mode of the handler it
    wraps. The innermost handler is async under ASGI, so without this every middleware that can run
    either way (all of Django's, Wagtail's and axes') would run async, and each of its
    ``process_request`` and ``process_response`` hooks would hop from the event loop to the request
    thread and back; WhiteNoise, which is sync only, adds one more pair. Behind this one the chain
    hops once into the thread at the top and once back to the loop here, for the view middleware
    and the view (async views such as the answer stream still run on the loop).
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
