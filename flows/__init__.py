"""Prefect flows: WHEN and WHERE the automatic side runs. A page each, no business rule.

Each flow opens a context, calls one service function that does the whole batch, and logs the
counts. The same functions run without Prefect in tests, the demo and the benchmark.
Importing this package does not import Prefect; the flow modules do (about 2 s).
"""
