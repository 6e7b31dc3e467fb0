"""Finding a word in a text column, case-insensitively for every alphabet and literally, alike
on SQLite and PostgreSQL.

SQLAlchemy's `icontains` is `lower(column) LIKE lower(word)`, and SQLite's lower() folds only
ASCII: "DÍAZ" would not find "Díaz". Here SQLite calls Python's `str.lower` instead
(`core.store.db.SQLITE_LOWER`, registered on every connection) and the word is lowered in
Python, so both databases compare the same folded strings. `%`, `_` and the escape character in
the word are escaped: a search for "100%" finds "100%", not "1000"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from core.store.db import SQLITE_LOWER

ESCAPE = "\\"


class _Lower(FunctionElement[str]):
    type = String()
    inherit_cache = True


@compiles(_Lower)
def _lower_on_postgresql(element: _Lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_Lower, "sqlite")
def _lower_on_sqlite(element: _Lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def holds(column: SQLColumnExpression[str] | SQLColumnExpression[str | None], word: str) -> ColumnElement[bool]:
    """`column` contains `word`, whatever the case of either."""
    literal = word.lower().replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return _Lower(column).like(f"%{literal}%", escape=ESCAPE)
