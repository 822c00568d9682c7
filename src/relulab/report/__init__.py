"""Lab reports: a self-contained HTML page (figures embedded), a Markdown twin, and results.json."""
from .writer import write_report

__all__ = ["write_report"]
