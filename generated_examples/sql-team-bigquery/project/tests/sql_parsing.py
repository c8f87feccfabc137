"""sqlglot's BigQuery dialect, taught the BigQuery ML table functions it does not parse yet.

sqlglot parses ML.PREDICT and ML.FORECAST; ML.EVALUATE, ML.CONFUSION_MATRIX and the other
table functions take the same `MODEL name[, table or query][, STRUCT(...)]` arguments, so they
are parsed the same way into `ML.<NAME>(...)` function nodes.
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.tokens import TokenType

ML_TABLE_FUNCTIONS = (
    "ARIMA_EVALUATE",
    "CENTROIDS",
    "CONFUSION_MATRIX",
    "DETECT_ANOMALIES",
    "EVALUATE",
    "EXPLAIN_FORECAST",
    "EXPLAIN_PREDICT",
    "FEATURE_IMPORTANCE",
    "GLOBAL_EXPLAIN",
    "RECOMMEND",
    "ROC_CURVE",
    "TRAINING_INFO",
    "WEIGHTS",
)


def _parse_ml_table_function(parser: Any, name: str) -> exp.Expression:
    parser._match_text_seq("MODEL")
    args = [parser._parse_table()]
    while parser._match(TokenType.COMMA):
        if parser._match_text_seq("TABLE") or parser._match(TokenType.L_PAREN, advance=False):
            args.append(parser._parse_table())
        else:
            args.append(parser._parse_bitwise())
    return parser.expression(exp.Anonymous(this=f"ML.{name}", expressions=args))


class BigQueryML(BigQuery):
    class Parser(BigQuery.Parser):
        FUNCTION_PARSERS = {
            **BigQuery.Parser.FUNCTION_PARSERS,
            **{
                name: (lambda n: lambda self: _parse_ml_table_function(self, n))(name)
                for name in ML_TABLE_FUNCTIONS
            },
        }


def parse(sql: str) -> list[exp.Expression]:
    """Every statement of `sql`; raises sqlglot.ParseError on a syntax error."""
    if sql.count("(") != sql.count(")"):
        raise sqlglot.ParseError("unbalanced parentheses")
    statements = sqlglot.parse(sql, read=BigQueryML, error_level=sqlglot.ErrorLevel.RAISE)
    return [s for s in statements if s is not None]


def ml_functions(statements: list[exp.Expression]) -> set[str]:
    """The ML.* functions the statements call (ML.PREDICT and ML.FORECAST included)."""
    names = {node.this for s in statements for node in s.find_all(exp.Anonymous)}
    names |= {"ML.PREDICT" for s in statements if any(s.find_all(exp.Predict))}
    forecast = getattr(exp, "MLForecast", None)  # the node type of sqlglot 30 (pinned)
    if forecast is not None:
        names |= {"ML.FORECAST" for s in statements if any(s.find_all(forecast))}
    return {n for n in names if isinstance(n, str) and n.startswith("ML.")}
