from .approved import ApprovedAnswer
from .circuits import CircuitEvent
from .feedback import AIFeedback
from .prompts import PromptEvalRun, PromptTemplate
from .requests import AIRequest
from .usage import LLMUsageLog

__all__ = [
    "AIFeedback",
    "AIRequest",
    "ApprovedAnswer",
    "CircuitEvent",
    "LLMUsageLog",
    "PromptEvalRun",
    "PromptTemplate",
]
