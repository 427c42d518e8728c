"""Report results without SQL: periods, shaping a widget's groups, chart specs.

The service runs the queries (engine/store/reports.py) and shapes their groups here
(docs/reports.md).
"""
