"""ai_core's public writes. Other apps import from here, never from the submodules; ai_core's own
code imports the submodule it needs, so this facade adds no cycle inside ai_core. Each submodule
lists its public names in ``__all__``, so a name added there reaches this facade without an edit
here. The budget names other apps need are re-exported from ``ai_core.budgets.services``."""

from ai_core.budgets.services import POOL_SYSTEM as POOL_SYSTEM
from ai_core.budgets.services import BudgetExceeded as BudgetExceeded
from ai_core.budgets.services import budget_pool_has_room as budget_pool_has_room
from ai_core.budgets.services import today as today

from .feedback import *  # noqa: F403
from .generation import *  # noqa: F403
from .processing import *  # noqa: F403
from .prompt_evals import *  # noqa: F403
from .prompt_sync import *  # noqa: F403
from .recovery import *  # noqa: F403
from .requests import *  # noqa: F403
from .review_outcome import *  # noqa: F403
from .usage import *  # noqa: F403
