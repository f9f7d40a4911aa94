from .requests import AIRequest
from .usage import LLMUsageLog

__all__ = ["AIRequest", "LLMUsageLog"]
