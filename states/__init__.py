"""WHAT may happen to a complaint: the lifecycle table, guards, deadline arithmetic.

Pure Python: no database, no network, no Prefect. Imported by services/, never the reverse.
"""
