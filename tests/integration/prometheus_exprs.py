#!/usr/bin/env python3
"""The PromQL the Prometheus integration test runs (tests/integration/prometheus_test.sh).

  prometheus_exprs.py dashboard FILE
      One line per panel target of a Grafana dashboard: NAME<TAB>EXPR<TAB>MATCHER, EXPR with the
      dashboard variables replaced ($instance: every instance; $__rate_interval and the like:
      1m), MATCHER "yes" when the raw expression filters by instance=~"$instance".
  prometheus_exprs.py rules < /api/v1/rules answer
      One line per part of every alerting rule: NAME<TAB>HEALTH<TAB>QUERY, where the parts are
      the operands of top-level and/or/unless, each without its threshold comparison, and
      absent(X) becomes X: the queries that must return data from a running relay.
"""
import json
import re
import sys

VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "5m",
    "${instance}": ".+",
    "$instance": ".+",
}
INSTANCE_MATCHER = re.compile(r'instance=~"\$(\{instance\}|instance)"')
SET_OPERATORS = ("and", "or", "unless")


def substitute(expr):
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def dashboard(path):
    with open(path, encoding="utf-8") as f:
        board = json.load(f)
    panels = list(board.get("panels", []))
    for panel in panels:
        panels.extend(panel.get("panels", []))  # rows hold panels of their own
        for target in panel.get("targets", []):
            expr = target.get("expr")
            if not expr:
                continue
            name = f'panel {panel.get("id")} "{panel.get("title")}" {target.get("refId", "")}'
            matcher = "yes" if INSTANCE_MATCHER.search(expr) else "no"
            print(f"{name}\t{substitute(expr)}\t{matcher}")


def top_level(expr):
    """The indexes of expr's characters outside (), {}, [] and string literals."""
    depth, quote, escaped = 0, None, False
    for i, c in enumerate(expr):
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0:
            yield i


def split_set_operators(expr):
    """The operands of expr's top-level and/or/unless."""
    parts, start = [], 0
    for i in top_level(expr):
        for op in SET_OPERATORS:
            word = f" {op} "
            if i >= start and expr.startswith(word, i):
                parts.append(expr[start:i])
                start = i + len(word)
    parts.append(expr[start:])
    return [p.strip() for p in parts]


def strip_comparison(expr):
    """The left operand of expr's last top-level comparison, or expr itself."""
    cut = None
    for i in top_level(expr):
        if expr[i] in "=!<>" and expr[i - 1] not in "=!<>" and not expr.startswith("=~", i):
            cut = i
    return expr[:cut].strip() if cut is not None else expr


def underlying(expr):
    queries = []
    for part in split_set_operators(expr):
        query = strip_comparison(part)
        m = re.fullmatch(r"absent\((.*)\)", query, re.S)
        queries.append(m.group(1) if m else query)
    return queries


def rules():
    answer = json.load(sys.stdin)
    for group in answer["data"]["groups"]:
        for rule in group["rules"]:
            if rule["type"] != "alerting":
                continue
            for query in underlying(rule["query"]):
                print(f'{rule["name"]}\t{rule["health"]}\t{" ".join(query.split())}')


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "dashboard":
        dashboard(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "rules":
        rules()
    else:
        sys.exit(__doc__)
