//! Parsing threshold text into an [`Expression`].
//!
//! Grammar (`ws` is any run of Unicode whitespace, possibly empty; keywords and
//! units are case-sensitive):
//!
//! ```text
//! expression  ::= ws aggregation ws operator ws number ws unit? ws option?
//! option      ::= "," ws "abort-on-fail" ws ( "(" ws number ws time ws ")" ws )?
//! time        ::= "ns" | "us" | "µs" | "ms" | "s"
//! aggregation ::= "avg" | "min" | "max" | "med" | "p(" ws number ws ")"
//!               | "count" | "rate" | "rate/s" | "value" | "stdev"
//! operator    ::= "<" | "<=" | ">" | ">=" | "==" | "!="
//! number      ::= digit+ ( "." digit+ )?
//! digit       ::= "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9"
//! unit        ::= "ns" | "us" | "µs" | "ms" | "s"
//!               | "B" | "KB" | "MB" | "GB" | "KiB" | "MiB" | "GiB"
//!               | "ops/s" | "%"
//! ```
//!
//! Constraints beyond the grammar: the number in `p(N)` is between 0 and 100;
//! every number must fit in an `f64`. `KB`/`MB`/`GB` are 1000-based and
//! `KiB`/`MiB`/`GiB` 1024-based; `%` divides by 100; `µs` may also be written
//! with the Greek mu (`μs`). Numbers have no sign and no exponent: thresholds are
//! written by hand, and negative limits mean nothing for these metrics.
//!
//! `abort-on-fail` asks the runner to stop the scenario as soon as the
//! threshold fails while it runs (k6's `abortOnFail`); `abort-on-fail(10s)`
//! first judges it 10 s after the scenario started (k6's `delayAbortEval`).
//! See `docs/reports.md`.
//!
//! Errors point at a 1-based column counted in characters (not bytes), so the
//! caret lines up in a terminal even after a `µ`.

use std::fmt;

use super::{Aggregation, Expression, Limit, LimitUnit, Operator};

/// Why a threshold did not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid threshold `{input}` at column {column}: expected {expected}, found {found}")]
pub struct ParseError {
    /// The whole text given to [`parse`].
    pub input: String,
    /// 1-based, in characters; one past the last character when the input
    /// ended too early.
    pub column: usize,
    pub expected: Expected,
    pub found: Found,
}

/// What the parser was looking for when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Aggregation,
    /// `(` after `p`.
    OpenParen,
    /// `)` closing `p(N`.
    CloseParen,
    /// The N of `p(N)` was outside `0..=100`.
    PercentileInRange,
    Operator,
    Number,
    /// A `.` not followed by a digit.
    FractionDigit,
    /// So many digits the number overflows an `f64`.
    FiniteNumber,
    UnitOrEnd,
    /// A `,` not followed by a known option.
    AbortOnFail,
    /// The delay of `abort-on-fail(…)` needs a time unit.
    TimeUnit,
    /// `)` closing `abort-on-fail(`.
    CloseDelay,
    /// Something followed a complete expression.
    End,
}

/// What the parser met instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The input ended.
    End,
    /// The offending token, as written.
    Text(String),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Aggregation => {
                "an aggregation (avg, min, max, med, p(N), count, rate, rate/s, value, stdev)"
            }
            Expected::OpenParen => "`(` after `p`, as in `p(99)`",
            Expected::CloseParen => "`)` to close `p(`",
            Expected::PercentileInRange => "a percentile between 0 and 100",
            Expected::Operator => "an operator (<, <=, >, >=, ==, !=)",
            Expected::Number => "a number",
            Expected::FractionDigit => "a digit after the decimal point",
            Expected::FiniteNumber => "a number small enough to represent",
            Expected::UnitOrEnd => {
                "a unit (ns, us, µs, ms, s, B, KB, MB, GB, KiB, MiB, GiB, ops/s, %) or the end"
            }
            Expected::AbortOnFail => "`abort-on-fail` after `,`",
            Expected::TimeUnit => "a time unit (ns, us, µs, ms, s)",
            Expected::CloseDelay => "`)` to close `abort-on-fail(`",
            Expected::End => "the end (or `, abort-on-fail`)",
        })
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::End => f.write_str("the end"),
            Found::Text(t) => write!(f, "`{t}`"),
        }
    }
}

/// Parses one threshold expression; see the module documentation for the grammar.
pub fn parse(src: &str) -> Result<Expression, ParseError> {
    let mut p = Parser {
        src,
        chars: src.chars().collect(),
        pos: 0,
    };
    p.skip_ws();
    let aggregation = p.aggregation()?;
    p.skip_ws();
    let operator = p.operator()?;
    p.skip_ws();
    let number = p.number()?;
    p.skip_ws();
    let unit = p.unit()?;
    p.skip_ws();
    let mut abort_on_fail = false;
    let mut abort_delay = None;
    if p.peek() == Some(',') {
        p.pos += 1;
        p.skip_ws();
        let start = p.pos;
        let end = p.run_end(start, |c| c.is_alphanumeric() || c == '-');
        if p.text(start, end) != super::ABORT_ON_FAIL {
            return Err(p.error(start, Expected::AbortOnFail));
        }
        p.pos = end;
        abort_on_fail = true;
        p.skip_ws();
        if p.peek() == Some('(') {
            p.pos += 1;
            p.skip_ws();
            let number = p.number()?;
            p.skip_ws();
            let unit_at = p.pos;
            match p.unit_before(')', Expected::TimeUnit)? {
                Some(u) if u.kind() == super::UnitKind::Time => {
                    abort_delay = Some(Limit {
                        number,
                        unit: Some(u),
                    });
                }
                _ => return Err(p.error(unit_at, Expected::TimeUnit)),
            }
            p.skip_ws();
            if p.peek() != Some(')') {
                return Err(p.error(p.pos, Expected::CloseDelay));
            }
            p.pos += 1;
            p.skip_ws();
        }
    }
    if p.pos < p.chars.len() {
        return Err(p.error(p.pos, Expected::End));
    }
    Ok(Expression {
        aggregation,
        operator,
        limit: Limit { number, unit },
        abort_on_fail,
        abort_delay,
    })
}

/// How characters group into the token quoted after "found": a run of one class.
#[derive(PartialEq)]
enum Class {
    Word,
    Operator,
    Space,
    Other,
}

fn class(c: char) -> Class {
    if is_word(c) {
        Class::Word
    } else if matches!(c, '<' | '>' | '=' | '!') {
        Class::Operator
    } else if c.is_whitespace() {
        Class::Space
    } else {
        Class::Other
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '%')
}

/// Characters a unit is made of (`µ` is alphabetic).
fn is_unit_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '/' | '%')
}

struct Parser<'s> {
    src: &'s str,
    chars: Vec<char>,
    /// Index into `chars`; the column is `pos + 1`.
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// End (exclusive) of the run of characters from `start` that satisfy `f`.
    fn run_end(&self, start: usize, f: impl Fn(char) -> bool) -> usize {
        let mut end = start.min(self.chars.len());
        while self.chars.get(end).is_some_and(|&c| f(c)) {
            end += 1;
        }
        end
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    /// The token at `at`: the run of characters of the same class as the first,
    /// except that unclassified characters are quoted one at a time.
    fn found_at(&self, at: usize) -> Found {
        let Some(&first) = self.chars.get(at) else {
            return Found::End;
        };
        let end = match class(first) {
            Class::Other => at + 1,
            k => self.run_end(at, |c| class(c) == k),
        };
        Found::Text(self.text(at, end))
    }

    fn error(&self, at: usize, expected: Expected) -> ParseError {
        ParseError {
            input: self.src.to_owned(),
            column: at + 1,
            expected,
            found: self.found_at(at),
        }
    }

    fn aggregation(&mut self) -> Result<Aggregation, ParseError> {
        let start = self.pos;
        let end = self.run_end(start, is_word);
        let word = self.text(start, end);
        let named = Aggregation::NAMED
            .into_iter()
            .find(|a| a.keyword() == Some(word.as_str()));
        if let Some(a) = named {
            self.pos = end;
            return Ok(a);
        }
        if word != "p" {
            return Err(self.error(start, Expected::Aggregation));
        }
        self.pos = end;
        if self.peek() != Some('(') {
            return Err(self.error(self.pos, Expected::OpenParen));
        }
        self.pos += 1;
        self.skip_ws();
        let number_at = self.pos;
        let n = self.number()?;
        if !(0.0..=100.0).contains(&n) {
            return Err(self.error(number_at, Expected::PercentileInRange));
        }
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(self.error(self.pos, Expected::CloseParen));
        }
        self.pos += 1;
        Ok(Aggregation::Percentile(n))
    }

    fn operator(&mut self) -> Result<Operator, ParseError> {
        let next = self.chars.get(self.pos + 1).copied();
        let (op, len) = match (self.peek(), next) {
            (Some('<'), Some('=')) => (Operator::Le, 2),
            (Some('<'), _) => (Operator::Lt, 1),
            (Some('>'), Some('=')) => (Operator::Ge, 2),
            (Some('>'), _) => (Operator::Gt, 1),
            (Some('='), Some('=')) => (Operator::Eq, 2),
            (Some('!'), Some('=')) => (Operator::Ne, 2),
            _ => return Err(self.error(self.pos, Expected::Operator)),
        };
        self.pos += len;
        Ok(op)
    }

    fn number(&mut self) -> Result<f64, ParseError> {
        let start = self.pos;
        let is_digit = |c: char| c.is_ascii_digit();
        let int_end = self.run_end(start, is_digit);
        if int_end == start {
            return Err(self.error(start, Expected::Number));
        }
        let mut end = int_end;
        if self.chars.get(end) == Some(&'.') {
            let frac_end = self.run_end(end + 1, is_digit);
            if frac_end == end + 1 {
                return Err(self.error(end + 1, Expected::FractionDigit));
            }
            end = frac_end;
        }
        let text = self.text(start, end);
        // The text is digits with an optional fraction, which `f64` always
        // accepts; a huge integer part parses as infinity, refused below.
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => {
                self.pos = end;
                Ok(n)
            }
            _ => Err(self.error(start, Expected::FiniteNumber)),
        }
    }

    fn unit(&mut self) -> Result<Option<LimitUnit>, ParseError> {
        self.unit_before(',', Expected::UnitOrEnd)
    }

    /// A unit, or none when the input ends or `stop` comes next; anything
    /// else is an error expecting `expected`.
    fn unit_before(
        &mut self,
        stop: char,
        expected: Expected,
    ) -> Result<Option<LimitUnit>, ParseError> {
        if self.pos >= self.chars.len() || self.peek() == Some(stop) {
            return Ok(None);
        }
        let start = self.pos;
        let end = self.run_end(start, is_unit_char);
        match LimitUnit::from_symbol(&self.text(start, end)) {
            Some(u) => {
                self.pos = end;
                Ok(Some(u))
            }
            None => Err(self.error(start, expected)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(
        aggregation: Aggregation,
        operator: Operator,
        number: f64,
        unit: Option<LimitUnit>,
    ) -> Expression {
        Expression {
            aggregation,
            operator,
            limit: Limit { number, unit },
            abort_on_fail: false,
            abort_delay: None,
        }
    }

    #[test]
    fn every_aggregation() {
        use Aggregation::*;
        let cases = [
            ("avg < 1", Avg),
            ("min < 1", Min),
            ("max < 1", Max),
            ("med < 1", Med),
            ("p(0) < 1", Percentile(0.0)),
            ("p(50) < 1", Percentile(50.0)),
            ("p(99) < 1", Percentile(99.0)),
            ("p(99.9) < 1", Percentile(99.9)),
            ("p(99.99) < 1", Percentile(99.99)),
            ("p(100) < 1", Percentile(100.0)),
            ("p(100.0) < 1", Percentile(100.0)),
            ("p( 95 ) < 1", Percentile(95.0)),
            ("count < 1", Count),
            ("rate < 1", Rate),
            ("rate/s < 1", RatePerSecond),
            ("value < 1", Value),
            ("stdev < 1", Stdev),
        ];
        for (text, a) in cases {
            assert_eq!(parse(text), Ok(ok(a, Operator::Lt, 1.0, None)), "{text}");
        }
    }

    #[test]
    fn every_operator() {
        use Operator::*;
        let cases = [
            ("<", Lt),
            ("<=", Le),
            (">", Gt),
            (">=", Ge),
            ("==", Eq),
            ("!=", Ne),
        ];
        for (symbol, op) in cases {
            for text in [
                format!("avg {symbol} 2"),
                format!("avg{symbol}2"),
                format!(" avg\t{symbol}  2 "),
            ] {
                assert_eq!(
                    parse(&text),
                    Ok(ok(Aggregation::Avg, op, 2.0, None)),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn every_unit() {
        use LimitUnit::*;
        let cases = [
            ("ns", Ns),
            ("us", Us),
            ("µs", Us),
            ("μs", Us),
            ("ms", Ms),
            ("s", S),
            ("B", B),
            ("KB", Kb),
            ("MB", Mb),
            ("GB", Gb),
            ("KiB", Kib),
            ("MiB", Mib),
            ("GiB", Gib),
            ("ops/s", OpsPerSec),
            ("%", Percent),
        ];
        for (symbol, unit) in cases {
            for text in [
                format!("max < 1.5{symbol}"),
                format!("max<1.5 {symbol}"),
                format!("max < 1.5{symbol}  "),
            ] {
                assert_eq!(
                    parse(&text),
                    Ok(ok(Aggregation::Max, Operator::Lt, 1.5, Some(unit))),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn examples_from_the_docs() {
        use Aggregation::*;
        use LimitUnit::*;
        use Operator::*;
        let cases = [
            ("p(99) < 1ms", ok(Percentile(99.0), Lt, 1.0, Some(Ms))),
            ("avg<200us", ok(Avg, Lt, 200.0, Some(Us))),
            ("rate < 0.01", ok(Rate, Lt, 0.01, None)),
            ("count > 1000", ok(Count, Gt, 1000.0, None)),
            ("value > 5000ops/s", ok(Value, Gt, 5000.0, Some(OpsPerSec))),
            ("p(99.9) <= 2.5ms", ok(Percentile(99.9), Le, 2.5, Some(Ms))),
            ("max < 10MB", ok(Max, Lt, 10.0, Some(Mb))),
            ("rate < 1%", ok(Rate, Lt, 1.0, Some(Percent))),
            ("rate/s>=0", ok(RatePerSecond, Ge, 0.0, None)),
            ("count == 0", ok(Count, Eq, 0.0, None)),
            ("p(90)!=007.50s", ok(Percentile(90.0), Ne, 7.5, Some(S))),
        ];
        for (text, e) in cases {
            assert_eq!(parse(text), Ok(e), "{text}");
        }
    }

    #[test]
    fn abort_on_fail_option() {
        use Aggregation::*;
        use LimitUnit::*;
        use Operator::*;
        let aborting = |e: Expression| Expression {
            abort_on_fail: true,
            ..e
        };
        let cases = [
            (
                "p(99) < 1ms, abort-on-fail",
                aborting(ok(Percentile(99.0), Lt, 1.0, Some(Ms))),
            ),
            (
                "p(99)<1ms,abort-on-fail",
                aborting(ok(Percentile(99.0), Lt, 1.0, Some(Ms))),
            ),
            (
                " rate < 1% ,  abort-on-fail ",
                aborting(ok(Rate, Lt, 1.0, Some(Percent))),
            ),
            (
                "count == 0, abort-on-fail",
                aborting(ok(Count, Eq, 0.0, None)),
            ),
            (
                "count > 1000, abort-on-fail(10s)",
                Expression {
                    abort_delay: Some(Limit {
                        number: 10.0,
                        unit: Some(S),
                    }),
                    ..aborting(ok(Count, Gt, 1000.0, None))
                },
            ),
            (
                "p(99)<1ms,abort-on-fail( 1.5 µs )",
                Expression {
                    abort_delay: Some(Limit {
                        number: 1.5,
                        unit: Some(Us),
                    }),
                    ..aborting(ok(Percentile(99.0), Lt, 1.0, Some(Ms)))
                },
            ),
        ];
        for (text, e) in cases {
            assert_eq!(parse(text), Ok(e), "{text}");
            assert!(e.to_string().contains(", abort-on-fail"), "{e}");
            assert_eq!(parse(&e.to_string()), Ok(e));
        }
    }

    #[test]
    fn error_message_format() {
        let err = parse("p(99) < 1xs").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid threshold `p(99) < 1xs` at column 10: expected a unit \
             (ns, us, µs, ms, s, B, KB, MB, GB, KiB, MiB, GiB, ops/s, %) or the end, found `xs`"
        );
        let err = parse("").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid threshold `` at column 1: expected an aggregation \
             (avg, min, max, med, p(N), count, rate, rate/s, value, stdev), found the end"
        );
        let err = parse("p(101) < 1ms").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid threshold `p(101) < 1ms` at column 3: \
             expected a percentile between 0 and 100, found `101`"
        );
    }

    #[test]
    fn malformed_inputs() {
        use Expected::*;
        let end = None;
        let cases: &[(&str, usize, Expected, Option<&str>)] = &[
            // empty input
            ("", 1, Aggregation, end),
            ("   ", 4, Aggregation, end),
            // unknown aggregation
            ("average < 1ms", 1, Aggregation, Some("average")),
            ("  AVG < 1ms", 3, Aggregation, Some("AVG")),
            ("avg2 < 1", 1, Aggregation, Some("avg2")),
            ("rate/m < 1", 1, Aggregation, Some("rate/m")),
            ("p99 < 1ms", 1, Aggregation, Some("p99")),
            ("< 1ms", 1, Aggregation, Some("<")),
            ("(99) < 1", 1, Aggregation, Some("(")),
            // p( without a number or )
            ("p < 1", 2, OpenParen, Some(" ")),
            ("p (99) < 1", 2, OpenParen, Some(" ")),
            ("p[99] < 1", 2, OpenParen, Some("[")),
            ("p", 2, OpenParen, end),
            ("p(", 3, Number, end),
            ("p() < 1", 3, Number, Some(")")),
            ("p(x) < 1", 3, Number, Some("x")),
            ("p(99 < 1ms", 6, CloseParen, Some("<")),
            ("p(99", 5, CloseParen, end),
            ("p(99]", 5, CloseParen, Some("]")),
            ("p(9.) < 1", 5, FractionDigit, Some(")")),
            // percentile out of range
            ("p(101) < 1", 3, PercentileInRange, Some("101")),
            ("p(100.01) < 1", 3, PercentileInRange, Some("100.01")),
            ("p(-1) < 1", 3, Number, Some("-")),
            // missing operator
            ("avg", 4, Operator, end),
            ("avg 1ms", 5, Operator, Some("1ms")),
            ("avg = 1ms", 5, Operator, Some("=")),
            ("avg => 1ms", 5, Operator, Some("=>")),
            ("avg =< 1ms", 5, Operator, Some("=<")),
            ("avg ! 1ms", 5, Operator, Some("!")),
            ("avg ≤ 1ms", 5, Operator, Some("≤")),
            // missing number
            ("avg <", 6, Number, end),
            ("avg < ", 7, Number, end),
            ("avg < ms", 7, Number, Some("ms")),
            ("avg <= -1", 8, Number, Some("-")),
            ("avg << 1", 6, Number, Some("<")),
            ("avg === 1", 7, Number, Some("=")),
            ("avg < .5", 7, Number, Some(".5")),
            ("avg < 1.", 9, FractionDigit, end),
            ("avg < 1.ms", 9, FractionDigit, Some("ms")),
            ("avg < 1e3", 8, UnitOrEnd, Some("e3")),
            // bad unit
            ("p(99) < 1xs", 10, UnitOrEnd, Some("xs")),
            ("avg < 1 sec", 9, UnitOrEnd, Some("sec")),
            ("avg < 1mb", 8, UnitOrEnd, Some("mb")),
            ("avg < 1 ms2", 9, UnitOrEnd, Some("ms2")),
            ("avg < 1 ops / s", 9, UnitOrEnd, Some("ops")),
            ("avg < 1,000", 9, AbortOnFail, Some("000")),
            ("avg < 1 < 2", 9, UnitOrEnd, Some("<")),
            ("avg < 1.5.5", 10, UnitOrEnd, Some(".5")),
            ("µ < 1", 1, Aggregation, Some("µ")),
            ("avg < 1µ", 8, UnitOrEnd, Some("µ")),
            // trailing garbage
            ("avg < 1ms foo", 11, End, Some("foo")),
            ("avg < 1ms,", 11, AbortOnFail, end),
            ("avg < 1ms, abort", 12, AbortOnFail, Some("abort")),
            ("avg < 1ms, abort-on-fail,", 25, End, Some(",")),
            ("avg < 1ms abort-on-fail", 11, End, Some("abort")),
            ("avg < 1ms, ABORT-ON-FAIL", 12, AbortOnFail, Some("ABORT")),
            ("avg < 1ms, abort-on-fail x", 26, End, Some("x")),
            ("avg < 1ms, abort-on-fail(", 26, Number, end),
            ("avg < 1ms, abort-on-fail()", 26, Number, Some(")")),
            ("avg < 1ms, abort-on-fail(10)", 28, TimeUnit, Some(")")),
            ("avg < 1ms, abort-on-fail(10MB)", 28, TimeUnit, Some("MB")),
            ("avg < 1ms, abort-on-fail(10x)", 28, TimeUnit, Some("x")),
            ("avg < 1ms, abort-on-fail(10s", 29, CloseDelay, end),
            ("avg < 1ms, abort-on-fail(10s]", 29, CloseDelay, Some("]")),
            ("avg < 1ms, abort-on-fail(10s) x", 31, End, Some("x")),
            ("avg < 1ms.", 10, End, Some(".")),
            ("avg < 1% %", 10, End, Some("%")),
            ("p(99) < 1µs and more", 13, End, Some("and")),
            ("avg < 1ms ;", 11, End, Some(";")),
        ];
        for &(text, column, expected, found) in cases {
            let err = parse(text).expect_err(text);
            let found = match found {
                Some(t) => Found::Text(t.to_owned()),
                None => Found::End,
            };
            assert_eq!(
                (err.column, err.expected, &err.found),
                (column, expected, &found),
                "{text}: {err}"
            );
            assert_eq!(err.input, text);
        }
    }

    #[test]
    fn huge_numbers() {
        let digits = "9".repeat(400);
        let err = parse(&format!("avg < {digits}")).unwrap_err();
        assert_eq!((err.column, err.expected), (7, Expected::FiniteNumber));
        // Many digits that still fit are fine.
        let e = parse(&format!("avg < {}", "9".repeat(300))).unwrap();
        assert!(e.limit.number.is_finite());
        let e = parse(&format!("avg < 0.{}1", "0".repeat(400))).unwrap();
        assert_eq!(e.limit.number, 0.0);
    }

    /// Tiny deterministic generator (xorshift) so the fuzz-ish tests need no
    /// dependency and fail reproducibly.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn check_no_panic(text: &str) {
        match parse(text) {
            Ok(e) => assert_eq!(parse(&e.to_string()), Ok(e), "{text}"),
            Err(err) => {
                let len = text.chars().count();
                assert!((1..=len + 1).contains(&err.column), "{text}: {err}");
                assert!(!err.to_string().is_empty());
            }
        }
    }

    #[test]
    fn odd_strings_never_panic() {
        let fixed = [
            "\0",
            "\u{feff}p(99)<1ms",
            "p(99)<1ms\u{200b}",
            "🙂",
            "p(🙂) < 1",
            "avg < 1🙂",
            "p((99)) < 1",
            "p(99)) < 1",
            "rate/s/s < 1",
            "rate/",
            "rate/ s < 1",
            "count<1%%",
            "\n\tavg\r\n<\n1\n",
            "==",
            "!",
            "p(",
            "p(.",
            "p(1.",
            "p(1.x",
            "avg < 1 µ s",
            "avg < 1 %",
        ];
        for text in fixed {
            check_no_panic(text);
        }
        let pieces = [
            "avg", "p(", ")", "99", ".", "9", "<", "=", ">", "!", " ", "\t", "ms", "µ", "s", "%",
            "/", "rate", "ops/s", "KiB", "0", "-", "e", "(", "🙂", "\u{301}", "count", "rate/s",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let len = rng.below(8);
            let text: String = (0..len).map(|_| pieces[rng.below(pieces.len())]).collect();
            check_no_panic(&text);
        }
    }

    mod property {
        use super::super::parse;
        use crate::thresholds::{Aggregation, Expression, Limit, LimitUnit, Operator};
        use proptest::prelude::*;

        fn aggregation() -> impl Strategy<Value = Aggregation> {
            prop_oneof![
                proptest::sample::select(Aggregation::NAMED.to_vec()),
                (0.0f64..=100.0).prop_map(Aggregation::Percentile),
                // Percentiles as people write them: 99.9, 99.99, ...
                (0u32..=100_000).prop_map(|n| Aggregation::Percentile(f64::from(n) / 1000.0)),
            ]
        }

        fn number() -> impl Strategy<Value = f64> {
            prop_oneof![
                0.0f64..1e12,
                (0u64..1_000_000).prop_map(|n| n as f64),
                (0u64..1_000_000).prop_map(|n| n as f64 / 1000.0),
                // Any finite non-negative double, exponent and all.
                any::<f64>().prop_filter("finite, non-negative", |n| n.is_finite()
                    && n.is_sign_positive()),
            ]
        }

        fn unit() -> impl Strategy<Value = Option<LimitUnit>> {
            proptest::option::of(proptest::sample::select(LimitUnit::ALL.to_vec()))
        }

        fn expression() -> impl Strategy<Value = Expression> {
            (
                aggregation(),
                proptest::sample::select(Operator::ALL.to_vec()),
                number(),
                unit(),
                any::<bool>(),
                proptest::option::of((
                    number(),
                    proptest::sample::select(vec![
                        LimitUnit::Ns,
                        LimitUnit::Us,
                        LimitUnit::Ms,
                        LimitUnit::S,
                    ]),
                )),
            )
                .prop_map(
                    |(aggregation, operator, number, unit, abort_on_fail, delay)| {
                        Expression {
                            aggregation,
                            operator,
                            limit: Limit { number, unit },
                            abort_on_fail,
                            // A delay only exists after `abort-on-fail`.
                            abort_delay: delay.filter(|_| abort_on_fail).map(|(number, u)| Limit {
                                number,
                                unit: Some(u),
                            }),
                        }
                    },
                )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4096))]

            /// parse → print → parse is the identity, and printing is stable.
            #[test]
            fn print_then_parse_is_the_identity(e in expression()) {
                let text = e.to_string();
                let back = parse(&text);
                prop_assert_eq!(back, Ok(e), "{}", text);
                let again = parse(&text).unwrap().to_string();
                prop_assert_eq!(again, text);
            }

            /// Any text that parses prints to a canonical form that parses
            /// back to the same expression.
            #[test]
            fn parsed_text_round_trips(text in "[ a-z()0-9.<>=!%/µ,-]{0,30}") {
                if let Ok(e) = parse(&text) {
                    prop_assert_eq!(parse(&e.to_string()), Ok(e));
                }
            }
        }
    }

    /// Every prefix and every single-character deletion of valid expressions
    /// either parses or fails cleanly.
    #[test]
    fn truncations_and_deletions() {
        for text in [
            "p(99.9) <= 2.5ms",
            "rate/s >= 5000ops/s",
            "avg < 200µs",
            "rate < 1%",
        ] {
            let chars: Vec<char> = text.chars().collect();
            for i in 0..=chars.len() {
                check_no_panic(&chars[..i].iter().collect::<String>());
                if i < chars.len() {
                    let mut c = chars.clone();
                    c.remove(i);
                    check_no_panic(&c.iter().collect::<String>());
                }
            }
        }
    }
}
