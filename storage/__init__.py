"""HOW complaints are kept: SQLModel tables, one engine, the personal-data vault, migrations.

Imports nothing from services/, cli/ or flows/.
"""
