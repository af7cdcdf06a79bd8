"""The Core `Table` behind a SQLModel class, typed (SQLModel does not declare `__table__`)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table
from sqlalchemy.orm import class_mapper
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """`model.__table__`: the table the service layer reads and writes through Core."""
    return cast(Table, class_mapper(model, configure=False).local_table)
