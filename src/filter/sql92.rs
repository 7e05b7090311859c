//! RocketMQ's SQL92 message selector (`filter/parser/SelectorParser.jj` and
//! `filter/expression/*`), sans io: [`compile`] parses an expression, [`Selector::matches`]
//! evaluates it against a message's properties.
//!
//! Grammar (keywords case-insensitive): `OR`, `AND`; `=`, `<>`, `IS [NOT] NULL`; `>`, `>=`, `<`,
//! `<=`, `[NOT] BETWEEN a AND b`, `[NOT] IN ('x', …)`, `[NOT] CONTAINS|STARTSWITH|ENDSWITH 's'`;
//! unary `+`, `-`, `NOT`; parentheses; literals `'str'` (`''` escapes a quote), integers (`L`
//! suffix allowed; an int when it fits 32 bits), decimals with exponents, `TRUE`, `FALSE`,
//! `NULL`; identifiers `[A-Za-z_$][A-Za-z0-9_$]*` naming properties (`TAGS` included); `--` and
//! `/* */` comments.
//!
//! Semantics are Java's three-valued ones: a missing property is NULL, a comparison with NULL is
//! NULL, `AND`/`OR` short-circuit over NULL, and a message matches only when the whole
//! expression is TRUE. Property values are strings; compared with a number they are parsed as
//! that number's type (`CONVERT_STRING_EXPRESSIONS`), and a value that does not parse makes the
//! evaluation fail, which filters the message out. `>`-style operators on two strings compare
//! them as doubles. Checks Java makes while parsing are made here too: only numbers may be
//! constants of `<`-style comparisons, NULL/TRUE/FALSE cannot be `=` operands, `IN` needs a
//! property on its left, and `BETWEEN` constants must be ordered.

use std::cmp::Ordering;

/// Why an expression was refused (SUBSCRIPTION_PARSE_FAILED).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Cmp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Const(Value),
    Prop(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Cmp, Box<Expr>, Box<Expr>),
    In(String, Vec<String>, bool),
    Str(StrOp, Box<Expr>, String, bool),
}

/// A compiled selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector(Expr);

/// Parses `text` as Java's `SelectorParser` does.
pub fn compile(text: &str) -> Result<Selector, ParseError> {
    let tokens = lex(text)?;
    let mut p = Parser { tokens, pos: 0 };
    let e = p.or()?;
    if p.pos != p.tokens.len() {
        return fail(format!(
            "unexpected {:?} at token {}",
            p.tokens.get(p.pos),
            p.pos + 1
        ));
    }
    Ok(Selector(e))
}

impl Selector {
    /// Whether a message with these properties matches (`property` returns a property's value).
    #[must_use]
    pub fn matches(&self, property: &dyn Fn(&str) -> Option<String>) -> bool {
        matches!(eval(&self.0, property), Ok(Value::Bool(true)))
    }
}

// ------------------------------------------------------------------------------------ lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Id(String),
    Kw(&'static str),
    Str(String),
    Int(String),
    Float(String),
    Sym(&'static str),
}

const KEYWORDS: &[&str] = &[
    "NOT",
    "AND",
    "OR",
    "BETWEEN",
    "IN",
    "TRUE",
    "FALSE",
    "NULL",
    "IS",
    "CONTAINS",
    "STARTSWITH",
    "ENDSWITH",
];

fn lex(text: &str) -> Result<Vec<Tok>, ParseError> {
    let b: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| b.get(i).copied();
    while let Some(c) = at(i) {
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && at(i + 1) == Some('-') {
            while at(i).is_some_and(|c| c != '\n' && c != '\r') {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            i += 2;
            while !(at(i) == Some('*') && at(i + 1) == Some('/')) {
                if at(i).is_none() {
                    return fail("unterminated comment");
                }
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match at(i) {
                    None => return fail("unterminated string literal"),
                    Some('\'') if at(i + 1) == Some('\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit() || (c == '.' && at(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            while at(i).is_some_and(|d| d.is_ascii_digit()) {
                i += 1;
            }
            let mut float = false;
            if at(i) == Some('.') {
                float = true;
                i += 1;
                while at(i).is_some_and(|d| d.is_ascii_digit()) {
                    i += 1;
                }
            }
            if at(i).is_some_and(|e| e == 'e' || e == 'E') {
                let save = i;
                i += 1;
                if at(i).is_some_and(|s| s == '+' || s == '-') {
                    i += 1;
                }
                if at(i).is_some_and(|d| d.is_ascii_digit()) {
                    float = true;
                    while at(i).is_some_and(|d| d.is_ascii_digit()) {
                        i += 1;
                    }
                } else {
                    i = save;
                }
            }
            let mut lit: String = b.get(start..i).unwrap_or_default().iter().collect();
            if float {
                out.push(Tok::Float(lit));
            } else {
                if at(i).is_some_and(|l| l == 'l' || l == 'L') {
                    i += 1;
                }
                if lit.len() > 1 && lit.starts_with('0') {
                    return fail(format!("bad number literal {lit}"));
                }
                lit.retain(|c| c.is_ascii_digit());
                out.push(Tok::Int(lit));
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while at(i).is_some_and(|d| d.is_ascii_alphanumeric() || d == '_' || d == '$') {
                i += 1;
            }
            let word: String = b.get(start..i).unwrap_or_default().iter().collect();
            let upper = word.to_ascii_uppercase();
            match KEYWORDS.iter().find(|k| **k == upper) {
                Some(k) => out.push(Tok::Kw(k)),
                None => out.push(Tok::Id(word)),
            }
        } else {
            let two: String = b.get(i..i + 2).unwrap_or_default().iter().collect();
            let sym = match (two.as_str(), c) {
                ("<>", _) => "<>",
                (">=", _) => ">=",
                ("<=", _) => "<=",
                (_, '=') => "=",
                (_, '>') => ">",
                (_, '<') => "<",
                (_, '(') => "(",
                (_, ')') => ")",
                (_, ',') => ",",
                (_, '+') => "+",
                (_, '-') => "-",
                _ => return fail(format!("unexpected character '{c}' at {i}")),
            };
            i += sym.len();
            out.push(Tok::Sym(sym));
        }
    }
    Ok(out)
}

// ----------------------------------------------------------------------------------- parser

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn peek2(&self) -> Option<&Tok> {
        self.tokens.get(self.pos + 1)
    }

    fn eat_kw(&mut self, k: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Kw(x)) if *x == k) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            fail(format!("expected '{s}', found {:?}", self.peek()))
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.pos += 1;
                Ok(s)
            }
            other => fail(format!("expected a string literal, found {other:?}")),
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.eat_kw("OR") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.equality()?;
        while self.eat_kw("AND") {
            let right = self.equality()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.comparison()?;
        loop {
            if self.eat_sym("=") {
                let right = self.comparison()?;
                left = equal(left, right)?;
            } else if self.eat_sym("<>") {
                let right = self.comparison()?;
                left = Expr::Not(Box::new(equal(left, right)?));
            } else if matches!(self.peek(), Some(Tok::Kw("IS"))) {
                self.pos += 1;
                let not = self.eat_kw("NOT");
                if !self.eat_kw("NULL") {
                    return fail("expected NULL after IS");
                }
                let is_null =
                    Expr::Compare(Cmp::Eq, Box::new(left), Box::new(Expr::Const(Value::Null)));
                left = if not {
                    Expr::Not(Box::new(is_null))
                } else {
                    is_null
                };
            } else {
                return Ok(left);
            }
        }
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Sym(">")) => Some(Cmp::Gt),
                Some(Tok::Sym(">=")) => Some(Cmp::Ge),
                Some(Tok::Sym("<")) => Some(Cmp::Lt),
                Some(Tok::Sym("<=")) => Some(Cmp::Le),
                _ => None,
            };
            if let Some(op) = op {
                self.pos += 1;
                let right = self.unary()?;
                left = ordered(op, left, right)?;
                continue;
            }
            let not = matches!(self.peek(), Some(Tok::Kw("NOT")))
                && matches!(
                    self.peek2(),
                    Some(Tok::Kw(
                        "CONTAINS" | "STARTSWITH" | "ENDSWITH" | "BETWEEN" | "IN"
                    ))
                );
            if not {
                self.pos += 1;
            }
            let str_op = match self.peek() {
                Some(Tok::Kw("CONTAINS")) => Some(StrOp::Contains),
                Some(Tok::Kw("STARTSWITH")) => Some(StrOp::StartsWith),
                Some(Tok::Kw("ENDSWITH")) => Some(StrOp::EndsWith),
                _ => None,
            };
            if let Some(op) = str_op {
                self.pos += 1;
                let s = self.string()?;
                left = Expr::Str(op, Box::new(left), s, not);
            } else if self.eat_kw("BETWEEN") {
                let low = self.unary()?;
                if !self.eat_kw("AND") {
                    return fail("expected AND in BETWEEN");
                }
                let high = self.unary()?;
                left = between(left, low, high, not)?;
            } else if self.eat_kw("IN") {
                self.expect_sym("(")?;
                let mut list = vec![self.string()?];
                while self.eat_sym(",") {
                    list.push(self.string()?);
                }
                self.expect_sym(")")?;
                let Expr::Prop(name) = left else {
                    return fail("the left side of IN must be a property");
                };
                left = Expr::In(name, list, not);
            } else if not {
                return fail(
                    "NOT must be followed by CONTAINS, STARTSWITH, ENDSWITH, BETWEEN or IN here",
                );
            } else {
                return Ok(left);
            }
        }
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_sym("+") {
            return self.unary();
        }
        if self.eat_sym("-") {
            let e = self.unary()?;
            return Ok(match e {
                Expr::Const(Value::Int(v)) => Expr::Const(Value::Int(v.wrapping_neg())),
                Expr::Const(Value::Long(v)) => Expr::Const(Value::Long(v.wrapping_neg())),
                Expr::Const(Value::Double(v)) => Expr::Const(Value::Double(-v)),
                other => Expr::Neg(Box::new(other)),
            });
        }
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let t = self.peek().cloned();
        self.pos += 1;
        Ok(match t {
            Some(Tok::Str(s)) => Expr::Const(Value::Str(s)),
            Some(Tok::Int(s)) => {
                let v: i64 = s
                    .parse()
                    .map_err(|_| ParseError(format!("number {s} out of the long range")))?;
                Expr::Const(i32::try_from(v).map_or(Value::Long(v), Value::Int))
            }
            Some(Tok::Float(s)) => Expr::Const(Value::Double(
                s.parse()
                    .map_err(|_| ParseError(format!("bad decimal {s}")))?,
            )),
            Some(Tok::Kw("TRUE")) => Expr::Const(Value::Bool(true)),
            Some(Tok::Kw("FALSE")) => Expr::Const(Value::Bool(false)),
            Some(Tok::Kw("NULL")) => Expr::Const(Value::Null),
            Some(Tok::Id(name)) => Expr::Prop(name),
            Some(Tok::Sym("(")) => {
                let e = self.or()?;
                self.expect_sym(")")?;
                e
            }
            other => return fail(format!("unexpected {other:?}")),
        })
    }
}

fn is_boolean(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Not(_)
            | Expr::And(..)
            | Expr::Or(..)
            | Expr::Compare(..)
            | Expr::In(..)
            | Expr::Str(..)
            | Expr::Const(Value::Bool(_))
    )
}

/// `createEqual` with Java's operand checks.
fn equal(left: Expr, right: Expr) -> Result<Expr, ParseError> {
    for e in [&left, &right] {
        if matches!(e, Expr::Const(Value::Null)) {
            return fail("'NULL' cannot be compared.");
        }
    }
    if let (Expr::Const(Value::Bool(_)), Expr::Const(v)) = (&left, &right)
        && !matches!(v, Value::Bool(_))
    {
        return fail(format!("'{left:?}' cannot be compared with '{right:?}'"));
    }
    Ok(Expr::Compare(Cmp::Eq, Box::new(left), Box::new(right)))
}

/// `checkLessThanOperand`: constants must be numbers, and no boolean expression.
fn ordered(op: Cmp, left: Expr, right: Expr) -> Result<Expr, ParseError> {
    for e in [&left, &right] {
        let numeric_const = matches!(
            e,
            Expr::Const(Value::Int(_) | Value::Long(_) | Value::Double(_))
        );
        if !numeric_const && (matches!(e, Expr::Const(_)) || is_boolean(e)) {
            return fail(format!("Value '{e:?}' cannot be compared."));
        }
    }
    Ok(Expr::Compare(op, Box::new(left), Box::new(right)))
}

fn between(value: Expr, low: Expr, high: Expr, not: bool) -> Result<Expr, ParseError> {
    if let (Expr::Const(l), Expr::Const(h)) = (&low, &high) {
        if matches!(l, Value::Null) || matches!(h, Value::Null) {
            return fail("Illegal values of between, values can not be null!");
        }
        if compare(h, l).map_err(ParseError)? == Some(Ordering::Less) {
            return fail(format!(
                "Illegal values of between, left value({l:?}) must less than or equal to right value({h:?})"
            ));
        }
    }
    Ok(if not {
        Expr::Or(
            Box::new(ordered(Cmp::Lt, value.clone(), low)?),
            Box::new(ordered(Cmp::Gt, value, high)?),
        )
    } else {
        Expr::And(
            Box::new(ordered(Cmp::Ge, value.clone(), low)?),
            Box::new(ordered(Cmp::Le, value, high)?),
        )
    })
}

// ------------------------------------------------------------------------------- evaluation

/// `__compare` with string conversion on: `None` when the types cannot be compared (Java's
/// `-1` for unrelated classes is folded in by the caller), `Err` when a string does not parse.
fn compare(lv: &Value, rv: &Value) -> Result<Option<Ordering>, String> {
    use Value::{Bool, Double, Int, Long, Str};
    let bad = |s: &str| format!("cannot convert '{s}'");
    Ok(match (lv, rv) {
        (Int(a), Int(b)) => Some(a.cmp(b)),
        (Long(a), Long(b)) => Some(a.cmp(b)),
        (Int(a), Long(b)) => Some(i64::from(*a).cmp(b)),
        (Long(a), Int(b)) => Some(a.cmp(&i64::from(*b))),
        (Double(a), Double(b)) => a.partial_cmp(b),
        (Int(a), Double(b)) => f64::from(*a).partial_cmp(b),
        (Double(a), Int(b)) => a.partial_cmp(&f64::from(*b)),
        #[allow(clippy::cast_precision_loss)]
        (Long(a), Double(b)) => (*a as f64).partial_cmp(b),
        #[allow(clippy::cast_precision_loss)]
        (Double(a), Long(b)) => a.partial_cmp(&(*b as f64)),
        (Str(a), Str(b)) => Some(a.cmp(b)),
        (Bool(a), Bool(b)) => Some(a.cmp(b)),
        (Str(s), Int(b)) => Some(s.trim().parse::<i32>().map_err(|_| bad(s))?.cmp(b)),
        (Str(s), Long(b)) => Some(s.trim().parse::<i64>().map_err(|_| bad(s))?.cmp(b)),
        (Str(s), Double(b)) => s.trim().parse::<f64>().map_err(|_| bad(s))?.partial_cmp(b),
        (Str(s), Bool(b)) => Some(s.eq_ignore_ascii_case("true").cmp(b)),
        (Int(a), Str(s)) => Some(a.cmp(&s.trim().parse::<i32>().map_err(|_| bad(s))?)),
        (Long(a), Str(s)) => Some(a.cmp(&s.trim().parse::<i64>().map_err(|_| bad(s))?)),
        (Double(a), Str(s)) => a.partial_cmp(&s.trim().parse::<f64>().map_err(|_| bad(s))?),
        // Java casts the Boolean to String here and fails.
        (Bool(_), Str(s)) => return Err(bad(s)),
        _ => None,
    })
}

fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn eval(e: &Expr, prop: &dyn Fn(&str) -> Option<String>) -> Result<Value, String> {
    Ok(match e {
        Expr::Const(v) => v.clone(),
        Expr::Prop(name) => prop(name).map_or(Value::Null, Value::Str),
        Expr::Neg(inner) => match eval(inner, prop)? {
            Value::Int(v) => Value::Int(v.wrapping_neg()),
            Value::Long(v) => Value::Long(v.wrapping_neg()),
            Value::Double(v) => Value::Double(-v),
            Value::Null => Value::Null,
            other => return Err(format!("cannot negate {other:?}")),
        },
        Expr::Not(inner) => match eval(inner, prop)? {
            Value::Null => Value::Null,
            v => Value::Bool(!truth(&v).unwrap_or(false)),
        },
        Expr::And(l, r) => {
            let lv = eval(l, prop)?;
            if truth(&lv) == Some(false) || (lv != Value::Null && truth(&lv).is_none()) {
                return Ok(Value::Bool(false));
            }
            let rv = eval(r, prop)?;
            if truth(&rv) == Some(false) || (rv != Value::Null && truth(&rv).is_none()) {
                return Ok(Value::Bool(false));
            }
            if lv == Value::Null || rv == Value::Null {
                Value::Null
            } else {
                Value::Bool(true)
            }
        }
        Expr::Or(l, r) => {
            let lv = eval(l, prop)?;
            if truth(&lv) == Some(true) {
                return Ok(Value::Bool(true));
            }
            let rv = eval(r, prop)?;
            if truth(&rv) == Some(true) {
                return Ok(Value::Bool(true));
            }
            if lv == Value::Null || rv == Value::Null {
                Value::Null
            } else {
                Value::Bool(false)
            }
        }
        Expr::Compare(Cmp::Eq, l, r) => {
            let (lv, rv) = (eval(l, prop)?, eval(r, prop)?);
            match (&lv, &rv) {
                (Value::Null, Value::Null) => Value::Bool(true),
                (Value::Null, _) => Value::Null,
                (_, Value::Null) => Value::Bool(false),
                _ if lv == rv => Value::Bool(true),
                _ => Value::Bool(compare(&lv, &rv)? == Some(Ordering::Equal)),
            }
        }
        Expr::Compare(op, l, r) => {
            let lv = eval(l, prop)?;
            if lv == Value::Null {
                return Ok(Value::Null);
            }
            let rv = eval(r, prop)?;
            if rv == Value::Null {
                return Ok(Value::Null);
            }
            let ord = match (&lv, &rv) {
                (Value::Str(a), Value::Str(b)) => {
                    let (a, b) = (
                        a.trim()
                            .parse::<f64>()
                            .map_err(|_| format!("'{a}' is not a number"))?,
                        b.trim()
                            .parse::<f64>()
                            .map_err(|_| format!("'{b}' is not a number"))?,
                    );
                    a.partial_cmp(&b)
                }
                _ => compare(&lv, &rv)?,
            };
            Value::Bool(match (op, ord) {
                (_, None) => false,
                (Cmp::Gt, Some(o)) => o == Ordering::Greater,
                (Cmp::Ge, Some(o)) => o != Ordering::Less,
                (Cmp::Lt, Some(o)) => o == Ordering::Less,
                (Cmp::Le, Some(o)) => o != Ordering::Greater,
                (Cmp::Eq, Some(o)) => o == Ordering::Equal,
            })
        }
        Expr::In(name, list, not) => match prop(name) {
            None => Value::Null,
            Some(v) => Value::Bool(list.contains(&v) ^ not),
        },
        Expr::Str(op, inner, s, not) => match eval(inner, prop)? {
            Value::Str(v) => {
                let hit = match op {
                    StrOp::Contains => v.contains(s.as_str()),
                    StrOp::StartsWith => v.starts_with(s.as_str()),
                    StrOp::EndsWith => v.ends_with(s.as_str()),
                };
                Value::Bool(hit ^ not)
            }
            _ => Value::Null,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(expr: &str, props: &[(&str, &str)]) -> bool {
        let sel = compile(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        sel.matches(&|name| {
            props
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_issue_examples() {
        let e = "a BETWEEN 1 AND 3 AND b = 'x'";
        assert!(check(e, &[("a", "2"), ("b", "x")]));
        assert!(check(e, &[("a", "3"), ("b", "x")]));
        assert!(!check(e, &[("a", "4"), ("b", "x")]));
        assert!(!check(e, &[("a", "2"), ("b", "y")]));
        assert!(!check(e, &[("b", "x")]), "missing a is NULL: no match");
        assert!(
            !check(e, &[("a", "2.5"), ("b", "x")]),
            "2.5 is no int: evaluation fails"
        );
        assert!(check("c IN ('p','q')", &[("c", "q")]));
        assert!(!check("c IN ('p','q')", &[("c", "r")]));
        assert!(!check("c IN ('p','q')", &[]));
        assert!(check("c NOT IN ('p')", &[("c", "r")]));
        assert!(check("d IS NULL", &[]));
        assert!(!check("d IS NULL", &[("d", "")]));
        assert!(check("d IS NOT NULL", &[("d", "")]));
        assert!(check("TAGS = 'TagA' OR TAGS = 'TagB'", &[("TAGS", "TagB")]));
        assert!(check(
            "(TAGS is not null and TAGS in ('TagA'))",
            &[("TAGS", "TagA")]
        ));
    }

    #[test]
    fn numbers_strings_and_three_valued_logic() {
        assert!(
            check("a > 1.5", &[("a", "2")]),
            "the string is parsed as the constant's type"
        );
        assert!(check("a > 1", &[("a", "2")]));
        assert!(check("a >= -1", &[("a", "-1")]));
        assert!(check("a < 10000000000", &[("a", "9")]), "long constant");
        assert!(check("a = 1", &[("a", "1")]));
        assert!(check("a <> 1", &[("a", "2")]));
        assert!(!check("a <> 1", &[]), "NULL <> 1 is NULL");
        assert!(check("a = 1 OR b = 'x'", &[("b", "x")]), "NULL OR TRUE");
        assert!(!check("NOT (a = 1)", &[]), "NOT NULL is NULL");
        assert!(check("s CONTAINS 'ell'", &[("s", "hello")]));
        assert!(check("s NOT STARTSWITH 'x'", &[("s", "hello")]));
        assert!(check("s ENDSWITH 'lo'", &[("s", "hello")]));
        assert!(check("it = 'it''s'", &[("it", "it's")]));
        assert!(check("a NOT BETWEEN 1 AND 3", &[("a", "5")]));
        assert!(check("flag = TRUE", &[("flag", "true")]));
        assert!(
            !check("a", &[("a", "true")]),
            "a bare property is never TRUE"
        );
        assert!(check(
            "a = 1 -- comment\n AND /* x */ b = 2",
            &[("a", "1"), ("b", "2")]
        ));
    }

    #[test]
    fn malformed_expressions_are_refused() {
        for bad in [
            "a = ",
            "a BETWEEN 3 AND 1",
            "a > 'x'",
            "a = NULL",
            "'x' IN ('x')",
            "a IN (1, 2)",
            "a === 1",
            "(a = 1",
            "a = 'open",
            "a NOT 1",
            "",
        ] {
            assert!(compile(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
