"""``floe-agents heal``: plan fixes for the root causes an investigation names, apply them safely, prove them.

The engine (:class:`~floe_agents.heal.engine.Healer`) drives rounds of investigate → plan → confirm → apply →
verify; the planner asks each playbook's remediations what they would do (reads only); the lock is a Lease in the
namespace; the report says what was planned, changed and proven. Remediations never import this package.
"""

from floe_agents.heal.engine import Healer
from floe_agents.heal.model import EXIT_CODES, AppliedFix, FixPlan, HealReport
from floe_agents.heal.planner import PlannedFix, plan_fixes

__all__ = ["EXIT_CODES", "AppliedFix", "FixPlan", "HealReport", "Healer", "PlannedFix", "plan_fixes"]
