//! The attribute macros of [rawrt](https://docs.rs/rawrt): `#[rawrt::main]` and
//! `#[rawrt::test]`. Use them through rawrt's `macros` feature, not directly.
//!
//! Both turn an `async fn` into a plain `fn` whose body builds a runtime and `block_on`s the
//! original body. They are written against `proc_macro` alone (no `syn`, no `quote`): the
//! attribute grammar is a comma-separated list of `key = value`, and of the function only the
//! signature's shape is needed (attributes, `async`, `fn`, name, parameters, body), which a
//! walk over the token trees finds. The body is passed through untouched.
//!
//! Options (`main` defaults to `multi_thread`, `test` to `current_thread`, as Tokio's):
//! - `flavor = "current_thread"` or `"multi_thread"`;
//! - `worker_threads = N` (multi-thread only);
//! - `start_paused = true` (current-thread only; rawrt's `test-util` feature);
//! - `crate = "path"`: where rawrt is, when it is renamed or re-exported.
//!
//! Mistakes (the attribute on a non-`async` fn, an unknown option, a bad value,
//! `worker_threads` with `current_thread`) are `compile_error!`s at the offending tokens.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// Runs an `async fn main` on a rawrt runtime (multi-thread unless `flavor =
/// "current_thread"`). See the crate docs for the options.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Main)
}

/// Runs an `async fn` test on a rawrt runtime (current-thread unless `flavor =
/// "multi_thread"`), adding `#[test]`. See the crate docs for the options.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, Kind::Test)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

struct Options {
    flavor: Flavor,
    worker_threads: Option<(TokenTree, Span)>,
    start_paused: Option<(bool, Span)>,
    krate: Option<TokenStream>,
}

/// An error at a span, turned into `compile_error!` there.
struct Error {
    span: Span,
    msg: String,
}

fn err<T>(span: Span, msg: impl Into<String>) -> Result<T, Error> {
    Err(Error {
        span,
        msg: msg.into(),
    })
}

fn expand(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    match try_expand(args, item.clone(), kind) {
        Ok(ts) => ts,
        Err(e) => {
            // The item as written (less its `async`, which a plain `fn main` may not have),
            // plus the error: no cascade of "main not found" errors.
            let mut out = compile_error(e.span, &e.msg);
            let mut seen_fn = false;
            out.extend(item.into_iter().filter(|t| {
                seen_fn |= is_ident(t, "fn");
                seen_fn || !is_ident(t, "async")
            }));
            out
        }
    }
}

fn try_expand(args: TokenStream, item: TokenStream, kind: Kind) -> Result<TokenStream, Error> {
    let options = parse_options(args, kind)?;
    let mut tokens: Vec<TokenTree> = item.into_iter().collect();
    let body = match tokens.pop() {
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => g,
        Some(other) => return err(other.span(), "expected a function with a body"),
        None => return err(Span::call_site(), "expected a function"),
    };
    // The signature: find `fn`, the `async` before it, and the parameter list after it.
    let fn_pos = tokens
        .iter()
        .position(|t| is_ident(t, "fn"))
        .ok_or_else(|| Error {
            span: body.span(),
            msg: "the attribute can only be used on an `async fn`".into(),
        })?;
    let async_pos = tokens[..fn_pos].iter().position(|t| is_ident(t, "async"));
    let Some(async_pos) = async_pos else {
        let what = match kind {
            Kind::Main => "#[rawrt::main]",
            Kind::Test => "#[rawrt::test]",
        };
        return err(
            tokens[fn_pos].span(),
            format!("{what} can only be used on an `async fn` (add `async` before `fn`)"),
        );
    };
    let params = tokens[fn_pos..]
        .iter()
        .find_map(|t| match t {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => Some(g.clone()),
            _ => None,
        })
        .ok_or_else(|| Error {
            span: tokens[fn_pos].span(),
            msg: "expected the function's parameter list".into(),
        })?;
    if kind == Kind::Test && !params.stream().is_empty() {
        return err(params.span(), "a test function cannot take arguments");
    }
    if kind == Kind::Test
        && tokens[..fn_pos]
            .iter()
            .any(|t| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Bracket && g.stream().into_iter().next().is_some_and(|t| is_ident(&t, "test"))))
    {
        return err(
            tokens[fn_pos].span(),
            "#[rawrt::test] adds #[test] itself: remove the second one",
        );
    }
    tokens.remove(async_pos);

    let krate = options
        .krate
        .clone()
        .unwrap_or_else(|| path(&["", "rawrt"], Span::call_site()));
    let mut out = TokenStream::new();
    if kind == Kind::Test {
        // `#[::core::prelude::v1::test]`
        out.extend([
            TokenTree::Punct(Punct::new('#', Spacing::Alone)),
            TokenTree::Group(Group::new(
                Delimiter::Bracket,
                path(&["", "core", "prelude", "v1", "test"], Span::call_site()),
            )),
        ]);
    }
    out.extend(tokens);
    out.extend([TokenTree::Group(Group::new(
        Delimiter::Brace,
        runtime_body(&options, krate, body),
    ))]);
    Ok(out)
}

/// `KRATE::runtime::Builder::new_X().enable_all()[.worker_threads(N)][.start_paused(true)]
///     .build().expect("...").block_on(async move BODY)`
fn runtime_body(options: &Options, krate: TokenStream, body: Group) -> TokenStream {
    let span = Span::call_site();
    let mut out = krate;
    out.extend(path(&["", "runtime", "Builder"], span));
    let ctor = match options.flavor {
        Flavor::CurrentThread => "new_current_thread",
        Flavor::MultiThread => "new_multi_thread",
    };
    out.extend(path(&["", ctor], span));
    out.extend([empty_parens()]);
    method(&mut out, "enable_all", TokenStream::new());
    if let Some((n, _)) = &options.worker_threads {
        method(&mut out, "worker_threads", n.clone().into());
    }
    if let Some((true, _)) = options.start_paused {
        method(
            &mut out,
            "start_paused",
            TokenTree::Ident(Ident::new("true", span)).into(),
        );
    }
    method(&mut out, "build", TokenStream::new());
    method(
        &mut out,
        "expect",
        TokenTree::Literal(Literal::string("failed to build the rawrt runtime")).into(),
    );
    let mut fut = TokenStream::new();
    fut.extend([
        TokenTree::Ident(Ident::new("async", span)),
        TokenTree::Ident(Ident::new("move", span)),
        TokenTree::Group(body),
    ]);
    method(&mut out, "block_on", fut);
    out
}

fn parse_options(args: TokenStream, kind: Kind) -> Result<Options, Error> {
    let mut options = Options {
        flavor: match kind {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        },
        worker_threads: None,
        start_paused: None,
        krate: None,
    };
    let tokens: Vec<TokenTree> = args.into_iter().collect();
    for entry in tokens.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
        if entry.is_empty() {
            continue; // a trailing comma
        }
        let key = match &entry[0] {
            TokenTree::Ident(i) => i.clone(),
            other => return err(other.span(), "expected an option name, e.g. `flavor`"),
        };
        let key_name = key.to_string();
        let value = match entry {
            [_, TokenTree::Punct(eq), value] if eq.as_char() == '=' => value.clone(),
            [_] => {
                return err(
                    key.span(),
                    format!("the option `{key_name}` needs a value: `{key_name} = ...`"),
                )
            }
            [_, rest @ ..] => {
                return err(
                    rest[0].span(),
                    format!("expected `{key_name} = <one value>`"),
                )
            }
            [] => unreachable!("empty entries are skipped"),
        };
        match key_name.as_str() {
            "flavor" => {
                options.flavor = match string_value(&value)?.as_str() {
                    "current_thread" => Flavor::CurrentThread,
                    "multi_thread" => Flavor::MultiThread,
                    other => {
                        return err(
                            value.span(),
                            format!(
                                "unknown flavor \"{other}\": expected \"current_thread\" or \
                                 \"multi_thread\""
                            ),
                        )
                    }
                };
            }
            "worker_threads" => {
                let ok = matches!(&value, TokenTree::Literal(l)
                    if l.to_string().trim_end_matches("usize").parse::<usize>().is_ok_and(|n| n > 0));
                if !ok {
                    return err(
                        value.span(),
                        "`worker_threads` takes a positive integer literal",
                    );
                }
                options.worker_threads = Some((value, key.span()));
            }
            "start_paused" => {
                let b = match &value {
                    TokenTree::Ident(i) if i.to_string() == "true" => true,
                    TokenTree::Ident(i) if i.to_string() == "false" => false,
                    other => return err(other.span(), "`start_paused` takes `true` or `false`"),
                };
                options.start_paused = Some((b, key.span()));
            }
            "crate" => {
                let p = string_value(&value)?;
                let ts: TokenStream = p.parse().map_err(|_| Error {
                    span: value.span(),
                    msg: format!("`crate` takes a path, not \"{p}\""),
                })?;
                options.krate = Some(ts);
            }
            other => {
                return err(
                    key.span(),
                    format!(
                        "unknown option `{other}`: expected `flavor`, `worker_threads`, \
                         `start_paused` or `crate`"
                    ),
                )
            }
        }
    }
    if options.flavor == Flavor::CurrentThread {
        if let Some((_, span)) = &options.worker_threads {
            return err(
                *span,
                "`worker_threads` has no meaning for the current_thread flavor (use \
                 `flavor = \"multi_thread\"`)",
            );
        }
    }
    if options.flavor == Flavor::MultiThread {
        if let Some((true, span)) = options.start_paused {
            return err(
                span,
                "`start_paused` requires the current_thread flavor: a paused clock is only \
                 available on a current-thread runtime",
            );
        }
    }
    Ok(options)
}

/// The contents of a string literal (plain `"..."` only: no escapes are needed here).
fn string_value(t: &TokenTree) -> Result<String, Error> {
    if let TokenTree::Literal(l) = t {
        let s = l.to_string();
        if let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            if !inner.contains('\\') {
                return Ok(inner.to_string());
            }
        }
    }
    err(
        t.span(),
        "expected a string literal, e.g. \"current_thread\"",
    )
}

fn is_ident(t: &TokenTree, name: &str) -> bool {
    matches!(t, TokenTree::Ident(i) if i.to_string() == name)
}

/// `::a::b::c` for `["", "a", "b", "c"]`, `a::b` for `["a", "b"]`.
fn path(segments: &[&str], span: Span) -> TokenStream {
    let mut out = TokenStream::new();
    for (i, seg) in segments.iter().enumerate() {
        // A separator before every segment but a first, non-empty one (a leading "" is
        // a leading `::`, and emits nothing else).
        let leading_empty = i == 1 && segments[0].is_empty();
        if (i > 0 && !leading_empty) || seg.is_empty() {
            let mut a = Punct::new(':', Spacing::Joint);
            a.set_span(span);
            let mut b = Punct::new(':', Spacing::Alone);
            b.set_span(span);
            out.extend([TokenTree::Punct(a), TokenTree::Punct(b)]);
        }
        if !seg.is_empty() {
            out.extend([TokenTree::Ident(Ident::new(seg, span))]);
        }
    }
    out
}

fn empty_parens() -> TokenTree {
    TokenTree::Group(Group::new(Delimiter::Parenthesis, TokenStream::new()))
}

/// Appends `.name(args)`.
fn method(out: &mut TokenStream, name: &str, args: TokenStream) {
    out.extend([
        TokenTree::Punct(Punct::new('.', Spacing::Alone)),
        TokenTree::Ident(Ident::new(name, Span::call_site())),
        TokenTree::Group(Group::new(Delimiter::Parenthesis, args)),
    ]);
}

/// `compile_error!("msg");` with every token at `span`, so the error points there.
fn compile_error(span: Span, msg: &str) -> TokenStream {
    let mut lit = Literal::string(msg);
    lit.set_span(span);
    let mut bang = Punct::new('!', Spacing::Alone);
    bang.set_span(span);
    let mut group = Group::new(Delimiter::Parenthesis, TokenTree::Literal(lit).into());
    group.set_span(span);
    let mut semi = Punct::new(';', Spacing::Alone);
    semi.set_span(span);
    let mut out = TokenStream::new();
    out.extend([
        TokenTree::Ident(Ident::new("compile_error", span)),
        TokenTree::Punct(bang),
        TokenTree::Group(group),
        TokenTree::Punct(semi),
    ]);
    out
}
