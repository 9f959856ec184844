//! The sandboxed template engine (decision D20), compiled into the server and the wasm admin, so
//! the editor's preview is the message that is sent.
//!
//! It is MiniJinja with a curated environment:
//! - no loader, so `include`, `import` and `extends` find nothing, and no function can reach a
//!   file or the network (the environment has no functions at all, not even `range`);
//! - a fuel budget per render ([`FUEL`]), which stops endless or huge loops;
//! - an output cap ([`MAX_OUTPUT`]);
//! - no operator that can grow a string (`*`, `+` and `~` are refused on save and at render), and
//!   no filter that can (`replace`, `indent`, `format` are left out), so nothing in memory grows
//!   beyond the variables and the template itself;
//! - HTML bodies escape every value, and `safe` is not available, so what a member typed (a name)
//!   can never become markup.

use super::vars::{MessageVars, is_known};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};
use serde::{Deserialize, Serialize};
use std::io;
use thiserror::Error;

/// Instructions one render may execute.
pub const FUEL: u64 = 50_000;
/// Bytes one render may produce.
pub const MAX_OUTPUT: usize = 256 * 1024;
/// Characters a template's source may have.
pub const MAX_SOURCE: usize = 100_000;

/// Why a template was refused or could not be rendered.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
pub enum TemplateError {
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "line {line}, column {column}: the operator {operator} is not available in templates; write the variables side by side instead"
    )]
    Forbidden {
        line: usize,
        column: usize,
        operator: char,
    },
    #[error("unknown variable{}: {}", if names.len() == 1 { "" } else { "s" }, names.join(", "))]
    UnknownVariables { names: Vec<String> },
    #[error("the template is longer than {max} characters")]
    TooLong { max: usize },
    #[error("the template did too much work and was stopped (an endless or very long loop?)")]
    OutOfFuel,
    #[error("the message would be larger than {max} bytes and was stopped", max = MAX_OUTPUT)]
    TooLarge,
    #[error("{message}")]
    Render { message: String },
}

/// How values are written into the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// Every value is HTML-escaped (e-mail HTML bodies).
    Html,
    /// Values are written as they are (subjects, text parts, SMS).
    Text,
}

/// Checks a template before it is saved: its length, its syntax (with line and column), the
/// forbidden operators, the variables it uses, and a trial render with sample values (which
/// catches an `include` and runaway loops).
///
/// # Errors
/// The first problem found.
pub fn check(source: &str, escape: Escape) -> Result<(), TemplateError> {
    guard(source)?;
    let env = environment(escape);
    let template = env
        .template_from_str(source)
        .map_err(|e| syntax(source, &e))?;
    let mut unknown: Vec<String> = template
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !is_known(name))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Err(TemplateError::UnknownVariables { names: unknown });
    }
    render(source, &MessageVars::sample("Sample Winery"), escape).map(|_| ())
}

/// Renders `source` with `vars`.
///
/// # Errors
/// A refused template, or a render stopped by the fuel or output limits.
pub fn render(source: &str, vars: &MessageVars, escape: Escape) -> Result<String, TemplateError> {
    render_value(source, Value::from_serialize(vars), escape)
}

fn render_value(source: &str, context: Value, escape: Escape) -> Result<String, TemplateError> {
    guard(source)?;
    let env = environment(escape);
    let template = env
        .template_from_str(source)
        .map_err(|e| syntax(source, &e))?;
    let mut out = Capped::default();
    match template.render_captured_to(context, &mut out) {
        Ok(_) => Ok(String::from_utf8_lossy(&out.bytes).into_owned()),
        Err(_) if out.overflowed => Err(TemplateError::TooLarge),
        Err(e) if e.kind() == ErrorKind::OutOfFuel => Err(TemplateError::OutOfFuel),
        Err(e) if e.kind() == ErrorKind::TemplateNotFound => Err(TemplateError::Render {
            message: "templates cannot include, import or extend other templates".to_owned(),
        }),
        Err(e) => Err(TemplateError::Render {
            message: match e.detail() {
                Some(detail) => format!("{}: {detail}", e.kind()),
                None => e.kind().to_string(),
            },
        }),
    }
}

/// The parts of an e-mail template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSource {
    pub subject: String,
    /// The message's own content; [`render_email`] wraps it in the winery's layout, which adds
    /// the footer with the postal address and the unsubscribe and preference links (D18).
    pub html: String,
    pub text: String,
}

/// A rendered e-mail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// Renders an e-mail: the subject on one line, the HTML inside the layout, and the text part
/// with the same footer.
///
/// # Errors
/// As [`render`], for whichever part fails first.
pub fn render_email(
    source: &EmailSource,
    vars: &MessageVars,
) -> Result<RenderedEmail, TemplateError> {
    let subject = render(&source.subject, vars, Escape::Text)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let body = render(&source.html, vars, Escape::Html)?;
    let layout_context = minijinja::context! {
        body => Value::from_safe_string(body),
        subject => subject.clone(),
        ..Value::from_serialize(vars)
    };
    let html = render_value(LAYOUT, layout_context, Escape::Html)?;
    let text = render(&source.text, vars, Escape::Text)?;
    let footer = render(TEXT_FOOTER, vars, Escape::Text)?;
    Ok(RenderedEmail {
        subject,
        html,
        text: format!("{}\n\n{footer}", text.trim_end()),
    })
}

/// Renders an SMS body, trimmed.
///
/// # Errors
/// As [`render`].
pub fn render_sms(source: &str, vars: &MessageVars) -> Result<String, TemplateError> {
    Ok(render(source, vars, Escape::Text)?.trim().to_owned())
}

/// The frame of every e-mail: a single responsive column, the winery's name (or logo), the
/// message, and the footer that D18 requires.
const LAYOUT: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ subject }}</title>
<style>
  body { margin: 0; padding: 0; background: #f4f1ee; }
  .wrap { width: 100%; background: #f4f1ee; padding: 24px 0; }
  .card { max-width: 600px; margin: 0 auto; background: #ffffff; border-radius: 8px; overflow: hidden;
          font-family: Georgia, 'Times New Roman', serif; color: #2b2024; }
  .head { background: #5b1a2e; color: #ffffff; padding: 20px 28px; font-size: 22px; }
  .head img { max-height: 48px; }
  .body { padding: 24px 28px; font-size: 16px; line-height: 1.55; }
  .body h1 { font-size: 22px; margin: 0 0 12px; }
  .box { background: #f7efe9; border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
  .button { display: inline-block; background: #5b1a2e; color: #ffffff !important; text-decoration: none;
            padding: 12px 22px; border-radius: 6px; }
  .foot { padding: 18px 28px 26px; font-size: 12px; line-height: 1.5; color: #6d6166;
          font-family: Arial, Helvetica, sans-serif; border-top: 1px solid #eee4dc; }
  .foot a { color: #6d6166; }
  @media (max-width: 620px) { .body, .head, .foot { padding-left: 18px; padding-right: 18px; } }
</style>
</head>
<body>
<div class="wrap">
  <div class="card">
    <div class="head">{% if winery_logo_url %}<img src="{{ winery_logo_url }}" alt="{{ winery_name }}">{% else %}{{ winery_name }}{% endif %}</div>
    <div class="body">
{{ body }}
    </div>
    <div class="foot">
      {{ winery_name }}{% if postal_address %} · {{ postal_address }}{% endif %}<br>
      You receive this because you are a member of {{ winery_name }}'s club.
      <a href="{{ preferences_url }}">Manage your messages</a> ·
      <a href="{{ unsubscribe_url }}">Unsubscribe from all</a>
    </div>
  </div>
</div>
</body>
</html>
"#;

const TEXT_FOOTER: &str = "--\n{{ winery_name }}{% if postal_address %}, {{ postal_address }}{% endif %}\nManage your messages: {{ preferences_url }}\nUnsubscribe from all: {{ unsubscribe_url }}";

fn environment(escape: Escape) -> Environment<'static> {
    use minijinja::{filters, tests};
    let mut env = Environment::empty();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(16);
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(move |_| match escape {
        Escape::Html => AutoEscape::Html,
        Escape::Text => AutoEscape::None,
    });
    env.add_filter("upper", filters::upper);
    env.add_filter("lower", filters::lower);
    env.add_filter("title", filters::title);
    env.add_filter("capitalize", filters::capitalize);
    env.add_filter("trim", filters::trim);
    env.add_filter("length", filters::length);
    env.add_filter("count", filters::length);
    env.add_filter("default", filters::default);
    env.add_filter("d", filters::default);
    env.add_filter("abs", filters::abs);
    env.add_filter("int", filters::int);
    env.add_filter("round", filters::round);
    env.add_filter("first", filters::first);
    env.add_filter("last", filters::last);
    env.add_filter("join", filters::join);
    env.add_filter("escape", filters::escape);
    env.add_filter("e", filters::escape);
    env.add_test("defined", tests::is_defined);
    env.add_test("undefined", tests::is_undefined);
    env.add_test("none", tests::is_none);
    env.add_test("number", tests::is_number);
    env.add_test("string", tests::is_string);
    env.add_test("odd", tests::is_odd);
    env.add_test("even", tests::is_even);
    env.add_test("true", tests::is_true);
    env.add_test("false", tests::is_false);
    env.add_test("eq", tests::is_eq);
    env.add_test("ne", tests::is_ne);
    env.add_test("lt", tests::is_lt);
    env.add_test("le", tests::is_le);
    env.add_test("gt", tests::is_gt);
    env.add_test("ge", tests::is_ge);
    env
}

/// The checks that need only the source: its length and the forbidden operators.
fn guard(source: &str) -> Result<(), TemplateError> {
    if source.chars().count() > MAX_SOURCE {
        return Err(TemplateError::TooLong { max: MAX_SOURCE });
    }
    match forbidden_operator(source) {
        Some((offset, operator)) => {
            let (line, column) = position(source, offset);
            Err(TemplateError::Forbidden {
                line,
                column,
                operator,
            })
        }
        None => Ok(()),
    }
}

/// Finds `*`, `+` or `~` used as an operator inside `{{ }}` or `{% %}`, skipping string literals,
/// comments, whitespace-control markers and `raw` blocks.
fn forbidden_operator(source: &str) -> Option<(usize, char)> {
    let bytes = source.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        let close: &[u8] = match &bytes[i..i + 2] {
            b"{{" => b"}}",
            b"{%" => b"%}",
            b"{#" => {
                i = find(bytes, i + 2, b"#}").map_or(bytes.len(), |end| end + 2);
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let start = i;
        i += 2;
        if matches!(bytes.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let mut quote: Option<u8> = None;
        while i < bytes.len() {
            let b = bytes[i];
            if let Some(q) = quote {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            if bytes[i..].starts_with(close) {
                break;
            }
            match b {
                b'"' | b'\'' => quote = Some(b),
                b'+' | b'-' if bytes[i + 1..].starts_with(close) => {}
                b'*' | b'+' | b'~' => return Some((i, char::from(b))),
                _ => {}
            }
            i += 1;
        }
        let inner = source.get(start + 2..i.min(source.len())).unwrap_or("");
        i += 2;
        if close == b"%}" && inner.trim_matches(|c: char| c == '-' || c == '+').trim() == "raw" {
            i = find(bytes, i, b"endraw").map_or(bytes.len(), |end| end + 6);
        }
    }
    None
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The 1-based line and column (in characters) of a byte offset.
fn position(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn syntax(source: &str, e: &minijinja::Error) -> TemplateError {
    let (line, column) = match (e.range(), e.line()) {
        (Some(range), _) => position(source, range.start),
        (None, Some(line)) => (line, 1),
        (None, None) => (1, 1),
    };
    TemplateError::Syntax {
        line,
        column,
        message: e
            .detail()
            .map_or_else(|| e.kind().to_string(), str::to_owned),
    }
}

/// A writer that stops after [`MAX_OUTPUT`] bytes.
#[derive(Default)]
struct Capped {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT {
            self.overflowed = true;
            return Err(io::Error::other("output limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MessageVars {
        MessageVars::sample("Hillside")
    }

    #[test]
    fn a_template_renders_the_members_values() {
        let out = render(
            "Hi {{ first_name }}, {{ days_remaining }} days left at {{ current_stage }}.",
            &sample(),
            Escape::Text,
        );
        assert_eq!(out.as_deref(), Ok("Hi Ann, 7 days left at Silver."));
    }

    #[test]
    fn a_syntax_error_reports_its_line_and_column() {
        let err = check("Hello\n{{ first_name }\n", Escape::Text).expect_err("refused");
        match err {
            TemplateError::Syntax { line, column, .. } => {
                assert_eq!(line, 2);
                assert!(column > 1, "column {column}");
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let unclosed = check("{% if is_expiring_soon %}soon", Escape::Text).expect_err("refused");
        assert!(
            matches!(unclosed, TemplateError::Syntax { .. }),
            "{unclosed:?}"
        );
    }

    #[test]
    fn unknown_variables_are_named() {
        assert_eq!(
            check("{{ frist_name }} {{ tier }} {{ first_name }}", Escape::Text),
            Err(TemplateError::UnknownVariables {
                names: vec!["frist_name".to_owned(), "tier".to_owned()]
            })
        );
    }

    #[test]
    fn an_endless_loop_runs_out_of_fuel() {
        // Without `range`, the longest loops nest over the variables' own characters.
        let nested = "{% for a in winery_name %}{% for b in winery_name %}{% for c in winery_name %}\
             {% for d in winery_name %}{% for e in winery_name %}{% for f in winery_name %}x\
             {% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}";
        let vars = MessageVars {
            winery_name: "A winery with a long name".to_owned(),
            ..sample()
        };
        assert_eq!(
            render(nested, &vars, Escape::Text),
            Err(TemplateError::OutOfFuel)
        );
        // A recursive macro is stopped as well.
        let recursive = "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}";
        assert!(render(recursive, &vars, Escape::Text).is_err());
    }

    #[test]
    fn a_huge_output_is_stopped() {
        let vars = MessageVars {
            custom_content: "x".repeat(10_000),
            ..sample()
        };
        let template = "{% for c in winery_name %}{% for d in winery_name %}{{ custom_content }}{% endfor %}{% endfor %}";
        assert_eq!(
            render(template, &vars, Escape::Text),
            Err(TemplateError::TooLarge)
        );
    }

    #[test]
    fn operators_that_grow_strings_are_refused_with_their_position() {
        assert_eq!(
            check("ok\n{{ first_name * 100000000 }}", Escape::Text),
            Err(TemplateError::Forbidden {
                line: 2,
                column: 15,
                operator: '*'
            })
        );
        for source in [
            "{% set x = first_name ~ first_name %}",
            "{{ first_name + last_name }}",
        ] {
            assert!(
                matches!(
                    check(source, Escape::Text),
                    Err(TemplateError::Forbidden { .. })
                ),
                "{source}"
            );
        }
        // The characters are fine in text, in strings, in comments and as whitespace control.
        assert_eq!(
            check(
                "5 * 3 ~ ok {{- \"a*b+c~\" -}} {# x * y #} {%+ if true +%}yes{% endif %}",
                Escape::Text
            ),
            Ok(())
        );
    }

    #[test]
    fn including_files_or_calling_out_fails() {
        for source in [
            "{% include \"/etc/passwd\" %}",
            "{% import \"macros.html\" as m %}",
            "{% extends \"base.html\" %}",
        ] {
            assert!(render(source, &sample(), Escape::Text).is_err(), "{source}");
        }
        // There are no functions at all: no range, no fetching, no environment.
        for source in [
            "{{ range(10) }}",
            "{{ url(\"http://x\") }}",
            "{{ debug() }}",
        ] {
            assert!(render(source, &sample(), Escape::Text).is_err(), "{source}");
        }
    }

    #[test]
    fn member_supplied_values_are_escaped_in_html_bodies() {
        let vars = MessageVars {
            first_name: "<script>alert(1)</script>".to_owned(),
            ..sample()
        };
        let html = render("<p>Hi {{ first_name }}</p>", &vars, Escape::Html).expect("renders");
        assert_eq!(html, "<p>Hi &lt;script&gt;alert(1)&lt;&#x2f;script&gt;</p>");
        // `safe` does not exist, so it cannot be switched off.
        assert!(render("{{ first_name|safe }}", &vars, Escape::Html).is_err());
        let email = render_email(
            &EmailSource {
                subject: "Hi {{ first_name }}".to_owned(),
                html: "<p>{{ first_name }}</p>".to_owned(),
                text: "{{ first_name }}".to_owned(),
            },
            &vars,
        )
        .expect("renders");
        assert!(!email.html.contains("<script>"));
        assert!(
            email.text.starts_with("<script>"),
            "text parts are not HTML"
        );
    }

    #[test]
    fn every_email_carries_the_postal_address_and_the_unsubscribe_links() {
        let email = render_email(
            &EmailSource {
                subject: "Your\nstatus".to_owned(),
                html: "<p>Hello</p>".to_owned(),
                text: "Hello".to_owned(),
            },
            &sample(),
        )
        .expect("renders");
        assert_eq!(email.subject, "Your status");
        // HTML escapes the slashes of a URL (`&#x2f;`), which a browser reads back as `/`.
        let html = email.html.replace("&#x2f;", "/");
        for part in [&html, &email.text] {
            assert!(part.contains("1 Vineyard Lane, Napa, CA 94558"));
            assert!(
                part.contains("href=\"https://example.com/u/sample\"")
                    || part.contains("https://example.com/u/sample")
            );
            assert!(part.contains("https://example.com/p/sample"));
        }
        assert!(email.html.contains("<p>Hello</p>"));
    }
}
