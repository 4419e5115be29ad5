"""OData v4 ``$filter``: tokenizer, recursive-descent parser, type checker and evaluator.

Grammar (a subset of the OData v4 ABNF, the part integrations use)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := primary (("eq"|"ne"|"gt"|"ge"|"lt"|"le") primary)?
    primary := "(" expr ")" | literal | property | function "(" expr ("," expr)* ")"

Literals: ``'text'`` (quote doubled inside), integers, decimals, ``true``/``false``/``null``,
dates and date-times with or without ``Z``/offset (``2025-01-31``, ``2025-01-31T00:00:00Z``),
GUIDs. Functions: ``startswith``, ``endswith``, ``contains``, ``tolower``, ``toupper``, ``trim``,
``length``, ``year``, ``month``, ``day``.

Decisions (unverified against a live v2 server, recorded here):

- The OData v3 forms ``datetime'…'`` and ``guid'…'`` are syntax errors: REST v2 speaks OData v4,
  which has no such literals (v1 clients use them [NEST]).
- String comparison and ordering ignore case: v2 turns ``$filter`` into the business object's
  ``GetRows`` where clause [SNO: "Get … items … using GetRows"], which SQL Server evaluates under
  Epicor's case-insensitive default collation.
- Operand types are checked as the Microsoft OData library does: a string property compared with a
  number, an unknown property, or a non-boolean filter is a 400 ``ODataException`` with that
  library's wording.
- Arithmetic operators, ``in``, ``has``, lambda operators and navigation paths are not supported
  (400).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from mlc.sandbox.epicor.errors import bad_query
from mlc.sandbox.epicor.schema import NUMERIC, Edm, RowType
from mlc.sandbox.epicor.values import parse_datetime

COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
_OP_NAMES = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?)?(?:Z|[+-]\d{2}:\d{2})?"
)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_CHAR = re.compile(r"[A-Za-z0-9_.:-]")


@dataclass(frozen=True)
class Token:
    kind: str  # "(" ")" "," "string" "number" "datetime" "guid" "ident" "eof"
    text: str
    pos: int


@dataclass(frozen=True)
class Literal:
    value: Any
    edm: Edm | None  # None for null


@dataclass(frozen=True)
class Prop:
    name: str


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node = Literal | Prop | Compare | BoolOp | Not | Call


class FilterSyntaxError(Exception):
    pass


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    length = len(text)
    while pos < length:
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char in "(),":
            tokens.append(Token(char, char, pos))
            pos += 1
            continue
        if char == "'":
            end = pos + 1
            chunks: list[str] = []
            while True:
                quote = text.find("'", end)
                if quote < 0:
                    raise FilterSyntaxError(
                        f"There is an unterminated string literal at position {pos} in '{text}'."
                    )
                chunks.append(text[end:quote])
                if quote + 1 < length and text[quote + 1] == "'":
                    chunks.append("'")
                    end = quote + 2
                    continue
                end = quote + 1
                break
            tokens.append(Token("string", "".join(chunks), pos))
            pos = end
            continue
        matched = False
        for kind, pattern in (("guid", _GUID), ("datetime", _DATETIME), ("number", _NUMBER)):
            match = pattern.match(text, pos)
            if match is None:
                continue
            end = match.end()
            if (
                end < length
                and _WORD_CHAR.match(text[end])
                and not (kind == "number" and text[end] in "-:")
            ):
                continue
            tokens.append(Token(kind, match.group(), pos))
            pos = end
            matched = True
            break
        if matched:
            continue
        match = _IDENT.match(text, pos)
        if match is not None:
            tokens.append(Token("ident", match.group(), pos))
            pos = match.end()
            continue
        raise FilterSyntaxError(
            f"Syntax error: character '{char}' is not valid at position {pos} in '{text}'."
        )
    tokens.append(Token("eof", "", length))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.current
        if token.kind == "ident" and token.text == word:
            self.index += 1
            return True
        return False

    def fail(self, token: Token | None = None) -> FilterSyntaxError:
        token = token or self.current
        if token.kind == "eof":
            return FilterSyntaxError(
                f"Expression expected at position {token.pos} in '{self.text}'."
            )
        return FilterSyntaxError(f"Syntax error at position {token.pos} in '{self.text}'.")

    def parse(self) -> Node:
        node = self.expr()
        if self.current.kind != "eof":
            raise self.fail()
        return node

    def expr(self) -> Node:
        node = self.conjunction()
        while self.keyword("or"):
            node = BoolOp("or", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.negation()
        while self.keyword("and"):
            node = BoolOp("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.keyword("not"):
            return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.primary()
        token = self.current
        if token.kind == "ident" and token.text in COMPARISONS:
            self.advance()
            return Compare(token.text, left, self.primary())
        return left

    def primary(self) -> Node:
        token = self.advance()
        if token.kind == "(":
            node = self.expr()
            if self.current.kind != ")":
                raise FilterSyntaxError(
                    f"')' or operator expected at position {self.current.pos} in '{self.text}'."
                )
            self.advance()
            return node
        if token.kind == "string":
            return Literal(token.text, Edm.STRING)
        if token.kind == "number":
            return _number(token.text)
        if token.kind == "datetime":
            try:
                return Literal(parse_datetime(token.text), Edm.DATETIME)
            except ValueError:
                raise FilterSyntaxError(
                    f"The DateTimeOffset text '{token.text}' should be in format "
                    "'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid "
                    "range."
                ) from None
        if token.kind == "guid":
            return Literal(token.text.lower(), Edm.GUID)
        if token.kind != "ident":
            raise self.fail(token)
        word = token.text
        if word in ("true", "false"):
            return Literal(word == "true", Edm.BOOLEAN)
        if word == "null":
            return Literal(None, None)
        if self.current.kind == "string":
            raise FilterSyntaxError(
                f"Unrecognized literal '{word}'{self.current.text}'' at position {token.pos} in "
                f"'{self.text}': OData v4 has no typed string literals."
            )
        if self.current.kind == "(":
            self.advance()
            args = [self.expr()]
            while self.current.kind == ",":
                self.advance()
                args.append(self.expr())
            if self.advance().kind != ")":
                raise self.fail(self.tokens[self.index - 1])
            return Call(word, tuple(args))
        if word in COMPARISONS or word in ("and", "or", "not"):
            raise self.fail(token)
        return Prop(word)


def _number(text: str) -> Literal:
    if re.fullmatch(r"-?\d+", text):
        value = int(text)
        return Literal(value, Edm.INT32 if -(2**31) <= value < 2**31 else Edm.INT64)
    return Literal(Decimal(text), Edm.DECIMAL)


def parse_filter(text: str) -> Node:
    """The AST of ``text``, or a 400 ``ODataException`` describing the syntax error."""
    try:
        return _Parser(text).parse()
    except FilterSyntaxError as exc:
        raise bad_query(str(exc)) from None


_FUNCTIONS: dict[str, tuple[tuple[Edm, ...], Edm]] = {
    "startswith": ((Edm.STRING, Edm.STRING), Edm.BOOLEAN),
    "endswith": ((Edm.STRING, Edm.STRING), Edm.BOOLEAN),
    "contains": ((Edm.STRING, Edm.STRING), Edm.BOOLEAN),
    "tolower": ((Edm.STRING,), Edm.STRING),
    "toupper": ((Edm.STRING,), Edm.STRING),
    "trim": ((Edm.STRING,), Edm.STRING),
    "length": ((Edm.STRING,), Edm.INT32),
    "year": ((Edm.DATETIME,), Edm.INT32),
    "month": ((Edm.DATETIME,), Edm.INT32),
    "day": ((Edm.DATETIME,), Edm.INT32),
}


def _compatible(left: Edm | None, right: Edm | None, op: str) -> bool:
    if left is None or right is None:
        return True
    if left in NUMERIC and right in NUMERIC:
        return True
    if left != right:
        return False
    return not (left in (Edm.BOOLEAN, Edm.GUID) and op not in ("eq", "ne"))


def check(node: Node, row: RowType | Mapping[str, Edm], type_name: str) -> Edm | None:
    """The node's type against the row's fields; a 400 for unknown names and type mismatches."""
    fields = row.fields if isinstance(row, RowType) else row
    if isinstance(node, Literal):
        return node.edm
    if isinstance(node, Prop):
        edm = fields.get(node.name)
        if edm is None:
            raise bad_query(f"Could not find a property named '{node.name}' on type '{type_name}'.")
        return edm
    if isinstance(node, Compare):
        left = check(node.left, fields, type_name)
        right = check(node.right, fields, type_name)
        if not _compatible(left, right, node.op):
            raise bad_query(
                "A binary operator with incompatible types was detected. Found operand types "
                f"'{left}' and '{right}' for operator kind '{_OP_NAMES[node.op]}'."
            )
        return Edm.BOOLEAN
    if isinstance(node, BoolOp):
        for side in (node.left, node.right):
            edm = check(side, fields, type_name)
            if edm not in (Edm.BOOLEAN, None):
                raise bad_query(
                    "A binary operator with incompatible types was detected. Found operand types "
                    f"'{edm}' and 'Edm.Boolean' for operator kind '{node.op.capitalize()}'."
                )
        return Edm.BOOLEAN
    if isinstance(node, Not):
        edm = check(node.operand, fields, type_name)
        if edm not in (Edm.BOOLEAN, None):
            raise bad_query(
                "A unary operator with an incompatible type was detected. Found operand type "
                f"'{edm}' for operator kind 'Not'."
            )
        return Edm.BOOLEAN
    signature = _FUNCTIONS.get(node.name)
    if signature is None:
        raise bad_query(f"An unknown function with name '{node.name}' was found.")
    expected, result = signature
    if len(node.args) != len(expected):
        raise bad_query(
            f"The function '{node.name}' expects {len(expected)} argument(s), got {len(node.args)}."
        )
    for arg, want in zip(node.args, expected, strict=True):
        got = check(arg, fields, type_name)
        if got is not None and got != want:
            raise bad_query(
                f"No function signature for the function with name '{node.name}' matches the "
                f"specified arguments. The function signatures considered are: {node.name}"
                f"({', '.join(e.value for e in expected)})."
            )
    return result


def validate_filter(node: Node, row: RowType | Mapping[str, Edm], type_name: str) -> None:
    if check(node, row, type_name) not in (Edm.BOOLEAN, None):
        raise bad_query("The $filter expression must evaluate to a single boolean value.")


Evaluator = Callable[[Mapping[str, Any]], Any]


def sort_value(value: Any) -> Any:
    """The comparison form of a value under a case-insensitive collation."""
    return value.casefold() if isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        if op == "eq":
            return left is None and right is None
        if op == "ne":
            return not (left is None and right is None)
        return False
    left = sort_value(left)
    right = sort_value(right)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    return bool(left <= right)


def _call(name: str, args: list[Any]) -> Any:
    if any(arg is None for arg in args):
        return None if name not in ("startswith", "endswith", "contains") else False
    if name == "startswith":
        return str(args[0]).casefold().startswith(str(args[1]).casefold())
    if name == "endswith":
        return str(args[0]).casefold().endswith(str(args[1]).casefold())
    if name == "contains":
        return str(args[1]).casefold() in str(args[0]).casefold()
    if name == "tolower":
        return str(args[0]).lower()
    if name == "toupper":
        return str(args[0]).upper()
    if name == "trim":
        return str(args[0]).strip()
    if name == "length":
        return len(str(args[0]))
    value: datetime = args[0]
    return {"year": value.year, "month": value.month, "day": value.day}[name]


def compile_filter(node: Node) -> Evaluator:
    """A function of a row mapping that evaluates ``node`` (already type-checked)."""
    if isinstance(node, Literal):
        value = node.value
        return lambda _row: value
    if isinstance(node, Prop):
        name = node.name
        return lambda row: row[name]
    if isinstance(node, Compare):
        op = node.op
        left = compile_filter(node.left)
        right = compile_filter(node.right)
        if isinstance(node.right, Literal) and isinstance(node.left, Prop):
            field = node.left.name
            constant = node.right.value
            return lambda row: _compare(op, row[field], constant)
        return lambda row: _compare(op, left(row), right(row))
    if isinstance(node, BoolOp):
        first = compile_filter(node.left)
        second = compile_filter(node.right)
        if node.op == "and":
            return lambda row: bool(first(row)) and bool(second(row))
        return lambda row: bool(first(row)) or bool(second(row))
    if isinstance(node, Not):
        inner = compile_filter(node.operand)
        return lambda row: not bool(inner(row))
    args = [compile_filter(arg) for arg in node.args]
    name = node.name
    return lambda row: _call(name, [arg(row) for arg in args])


def properties(node: Node) -> set[str]:
    """Every property name the expression reads."""
    if isinstance(node, Prop):
        return {node.name}
    if isinstance(node, Compare | BoolOp):
        return properties(node.left) | properties(node.right)
    if isinstance(node, Not):
        return properties(node.operand)
    if isinstance(node, Call):
        return set().union(*(properties(arg) for arg in node.args))
    return set()


def rename(node: Node, names: Mapping[str, str]) -> Node:
    """The same expression over renamed properties (a BAQ column → its source field)."""
    if isinstance(node, Prop):
        return Prop(names.get(node.name, node.name))
    if isinstance(node, Compare):
        return Compare(node.op, rename(node.left, names), rename(node.right, names))
    if isinstance(node, BoolOp):
        return BoolOp(node.op, rename(node.left, names), rename(node.right, names))
    if isinstance(node, Not):
        return Not(rename(node.operand, names))
    if isinstance(node, Call):
        return Call(node.name, tuple(rename(arg, names) for arg in node.args))
    return node
