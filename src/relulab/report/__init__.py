"""Lab reports: a self-contained HTML page per lab (figures embedded), a Markdown twin and results.json, an
index linking the labs, and the verdict table for the terminal."""
from .index import write_index
from .terminal import read_results, verdict_table
from .writer import write_report

__all__ = ["read_results", "verdict_table", "write_index", "write_report"]
