"""Reports: the typed report document (also the ``--json`` schema) and its Markdown rendering.

Both are built from one :class:`Report` model so Markdown and JSON can never disagree, and every string that
leaves the process passes through the run's :class:`~floe_agents.redact.Redactor`.
"""

from floe_agents.report.markdown import render_markdown
from floe_agents.report.model import REPORT_SCHEMA_VERSION, Report, build_report, exit_code_for, render_json

__all__ = ["REPORT_SCHEMA_VERSION", "Report", "build_report", "exit_code_for", "render_json", "render_markdown"]
