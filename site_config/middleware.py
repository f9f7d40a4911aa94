from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from ai_core.guard import mark_http_request, unmark_http_request


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
