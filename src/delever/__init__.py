"""delever: a risk lab for unwinding large leveraged positions on lending protocols.

The small public API for notebooks::

    import delever
    scenario = delever.load_scenario("trend-2026")
    report = scenario.position_report()
    report.to_frame()
    result = delever.run(paths=200)     # `delever run` end to end, as a RunResult
    print(result)                       # its summary; result.to_dict() is `--json`
"""

from delever.errors import DeleverError, InvalidArgument, ProtocolRevert
from delever.scenario import Scenario, builtin_scenarios, load_scenario
from delever.scenario.advice import advise, plan
from delever.scenario.runner import RunResult, run
from delever.sim.api import simulate
from delever.sim.plan import PlanObjective
from delever.sim.position import PositionReport, analyze_position

__version__ = "0.1.0"

__all__ = [
    "DeleverError",
    "InvalidArgument",
    "PlanObjective",
    "PositionReport",
    "ProtocolRevert",
    "RunResult",
    "Scenario",
    "__version__",
    "advise",
    "analyze_position",
    "builtin_scenarios",
    "load_scenario",
    "plan",
    "run",
    "simulate",
]
