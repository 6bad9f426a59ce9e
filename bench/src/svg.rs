//! The HTTP benchmark's chart, `target/bench/http.svg`, drawn by hand: req/s bars per
//! architecture (linear axis), and p50..p99 latency per architecture on a log axis.

use std::fmt::Write as _;

use crate::report::{fmt_latency, Row};
use crate::servers::Kind;
use crate::util::fmt_int;

/// Escapes text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A "nice" axis step (1, 2 or 5 × 10^k) for about `ticks` ticks up to `max`.
pub fn nice_step(max: f64, ticks: f64) -> f64 {
    if max.is_nan() || max <= 0.0 || max.is_infinite() {
        return 1.0;
    }
    let raw = max / ticks;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// `12000` → `12k`; `1500000` → `1.5M`.
pub(crate) fn fmt_short(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim_float(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim_float(v / 1e3))
    } else {
        trim_float(v)
    }
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A decade of microseconds: `1 µs`, `100 µs`, `10 ms`, `1 s`.
pub(crate) fn fmt_decade(us: f64) -> String {
    if us >= 1e6 {
        format!("{} s", trim_float(us / 1e6))
    } else if us >= 1e3 {
        format!("{} ms", trim_float(us / 1e3))
    } else {
        format!("{} µs", trim_float(us))
    }
}

fn color(kind: Kind) -> &'static str {
    match kind {
        Kind::Blocking => "#8c8c8c",
        Kind::Threads => "#5f6b7a",
        Kind::Rawrt => "#d95f02",
        Kind::RawrtMio => "#fdae6b",
        Kind::Tokio => "#1b9e77",
    }
}

/// The chart: a title with machine and load, req/s bars per architecture (linear axis), and
/// latency per architecture on a log axis: a line from p50 to p99, a dot at p50, ticks at
/// p75 and p90, a diamond at p99.
pub fn svg(rows: &[(Kind, Row)], title: &str, subtitles: &[String]) -> String {
    const W: f64 = 1080.0;
    const X0: f64 = 250.0; // plot area left
    const X1: f64 = 870.0; // plot area right; the rest holds the value labels
    const ROW_H: f64 = 30.0;
    let n = rows.len() as f64;
    let mut s = String::new();

    let top = 40.0 + 18.0 * subtitles.len() as f64;
    let p1_title = top + 30.0;
    let p1_rows = p1_title + 15.0;
    let p1_axis = p1_rows + n * ROW_H + 4.0;
    let p2_title = p1_axis + 60.0;
    let p2_rows = p2_title + 15.0;
    let p2_axis = p2_rows + n * ROW_H + 4.0;
    let h = p2_axis + 50.0;

    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{W}" height="{h}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="20" y="30" font-size="18" font-weight="bold">{}</text>"#,
        xml_escape(title)
    );
    for (i, sub) in subtitles.iter().enumerate() {
        let _ = writeln!(
            s,
            r##"<text x="20" y="{}" font-size="12" fill="#444444">{}</text>"##,
            50.0 + 18.0 * i as f64,
            xml_escape(sub)
        );
    }

    let row_label = |s: &mut String, y: f64, kind: Kind| {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            X0 - 10.0,
            y + ROW_H / 2.0 + 4.0,
            xml_escape(kind.label())
        );
    };
    let not_measured = |row: &Row| match row {
        Row::Measured { .. } => None,
        Row::NotBuilt(why) => Some(why.clone()),
        Row::Failed(why) => Some(format!("failed: {why}")),
    };

    // Panel 1: requests per second.
    let _ = writeln!(
        s,
        r#"<text x="20" y="{p1_title}" font-size="15" font-weight="bold">Requests per second (median; higher is better)</text>"#
    );
    let max_rps = rows
        .iter()
        .filter_map(|(_, r)| match r {
            Row::Measured { rps, .. } if rps.is_finite() => Some(*rps),
            _ => None,
        })
        .fold(0.0, f64::max);
    let step = nice_step(max_rps.max(1.0), 5.0);
    let axis_max = (max_rps.max(1.0) / step).ceil() * step;
    let xr = |v: f64| X0 + (v / axis_max).clamp(0.0, 1.0) * (X1 - X0);
    let mut t = 0.0;
    while t <= axis_max + step * 1e-9 {
        let x = xr(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{p1_rows}" x2="{x:.1}" y2="{p1_axis}" stroke="#e0e0e0"/>"##
        );
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{}" text-anchor="middle" font-size="11" fill="#444444">{}</text>"##,
            p1_axis + 16.0,
            fmt_short(t)
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r##"<line x1="{X0}" y1="{p1_axis}" x2="{X1}" y2="{p1_axis}" stroke="#333333"/>"##
    );
    for (i, (kind, row)) in rows.iter().enumerate() {
        let y = p1_rows + i as f64 * ROW_H;
        row_label(&mut s, y, *kind);
        match row {
            Row::Measured { rps, .. } => {
                let w = xr(*rps) - X0;
                let _ = writeln!(
                    s,
                    r#"<rect x="{X0}" y="{:.1}" width="{w:.1}" height="{}" fill="{}"/>"#,
                    y + 6.0,
                    ROW_H - 12.0,
                    color(*kind)
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
                    X0 + w + 6.0,
                    y + ROW_H / 2.0 + 4.0,
                    fmt_int(*rps)
                );
            }
            other => {
                let why = not_measured(other).unwrap_or_default();
                let _ = writeln!(
                    s,
                    r##"<text x="{}" y="{:.1}" font-size="12" font-style="italic" fill="#888888">{}</text>"##,
                    X0 + 6.0,
                    y + ROW_H / 2.0 + 4.0,
                    xml_escape(&why)
                );
            }
        }
    }

    // Panel 2: latency, log scale.
    let _ = writeln!(
        s,
        r#"<text x="20" y="{p2_title}" font-size="15" font-weight="bold">Latency p50 ● · p75, p90 ticks · p99 ◆ (median; log scale; lower is better)</text>"#
    );
    let lat: Vec<f64> = rows
        .iter()
        .filter_map(|(_, r)| match r {
            Row::Measured { pct, .. } => Some(pct.to_vec()),
            _ => None,
        })
        .flatten()
        .filter(|v| v.is_finite())
        .map(|v| v.max(1.0))
        .collect();
    let lo_dec = lat
        .iter()
        .cloned()
        .fold(f64::INFINITY, f64::min)
        .log10()
        .floor();
    let hi_dec = lat.iter().cloned().fold(0.0, f64::max).log10().ceil();
    let (lo_dec, hi_dec) = if lat.is_empty() {
        (1.0, 4.0)
    } else if hi_dec <= lo_dec {
        (lo_dec, lo_dec + 1.0)
    } else {
        (lo_dec, hi_dec)
    };
    let xl = |us: f64| {
        let f = (us.max(1.0).log10() - lo_dec) / (hi_dec - lo_dec);
        X0 + f.clamp(0.0, 1.0) * (X1 - X0)
    };
    let mut d = lo_dec;
    while d <= hi_dec + 1e-9 {
        let v = 10f64.powf(d);
        let x = xl(v);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{p2_rows}" x2="{x:.1}" y2="{p2_axis}" stroke="#c8c8c8"/>"##
        );
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{}" text-anchor="middle" font-size="11" fill="#444444">{}</text>"##,
            p2_axis + 16.0,
            fmt_decade(v)
        );
        if d + 1.0 <= hi_dec + 1e-9 {
            for m in 2..10 {
                let x = xl(v * m as f64);
                let _ = writeln!(
                    s,
                    r##"<line x1="{x:.1}" y1="{p2_rows}" x2="{x:.1}" y2="{p2_axis}" stroke="#f0f0f0"/>"##
                );
            }
        }
        d += 1.0;
    }
    let _ = writeln!(
        s,
        r##"<line x1="{X0}" y1="{p2_axis}" x2="{X1}" y2="{p2_axis}" stroke="#333333"/>"##
    );
    for (i, (kind, row)) in rows.iter().enumerate() {
        let y = p2_rows + i as f64 * ROW_H;
        let cy = y + ROW_H / 2.0;
        row_label(&mut s, y, *kind);
        match row {
            Row::Measured { pct, .. } => {
                let c = color(*kind);
                let [x50, x75, x90, x99] = pct.map(xl);
                let _ = writeln!(
                    s,
                    r#"<line x1="{x50:.1}" y1="{cy}" x2="{x99:.1}" y2="{cy}" stroke="{c}" stroke-width="3"/>"#
                );
                for x in [x75, x90] {
                    let _ = writeln!(
                        s,
                        r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="{c}" stroke-width="2"/>"#,
                        cy - 6.0,
                        cy + 6.0
                    );
                }
                let _ = writeln!(
                    s,
                    r##"<circle cx="{x50:.1}" cy="{cy}" r="5" fill="{c}" stroke="#222222"/>"##
                );
                let _ = writeln!(
                    s,
                    r##"<path d="M {x99:.1} {} L {:.1} {cy} L {x99:.1} {} L {:.1} {cy} Z" fill="#ffffff" stroke="{c}" stroke-width="2"/>"##,
                    cy - 6.0,
                    x99 + 6.0,
                    cy + 6.0,
                    x99 - 6.0
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" font-size="11">p50 {} · p99 {}</text>"#,
                    x99 + 12.0,
                    cy + 4.0,
                    xml_escape(&fmt_latency(pct[0])),
                    xml_escape(&fmt_latency(pct[3]))
                );
            }
            other => {
                let why = not_measured(other).unwrap_or_default();
                let _ = writeln!(
                    s,
                    r##"<text x="{}" y="{:.1}" font-size="12" font-style="italic" fill="#888888">{}</text>"##,
                    X0 + 6.0,
                    cy + 4.0,
                    xml_escape(&why)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summarize;
    use crate::report::tests::sample_rounds;

    /// A small XML well-formedness check: tags nest and close, attributes are quoted,
    /// text has no raw `<` and only known entities.
    fn check_xml(doc: &str) -> Result<(), String> {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = doc;
        let mut roots = 0;
        let check_text = |t: &str| -> Result<(), String> {
            let mut i = 0;
            while let Some(a) = t[i..].find('&') {
                let from = i + a;
                let end = t[from..].find(';').ok_or(format!("bare & in {t:?}"))?;
                let ent = &t[from + 1..from + end];
                if !["amp", "lt", "gt", "quot", "apos"].contains(&ent) && !ent.starts_with('#') {
                    return Err(format!("unknown entity {ent:?}"));
                }
                i = from + end;
            }
            if t.contains('>') {
                return Err(format!("raw > in text {t:?}"));
            }
            Ok(())
        };
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            if stack.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            check_text(text)?;
            let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
            let tag = &rest[open + 1..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let top = stack.pop().ok_or(format!("stray </{name}>"))?;
                if top != name.trim() {
                    return Err(format!("</{name}> closes <{top}>"));
                }
                continue;
            }
            if tag.matches('"').count() % 2 != 0 {
                return Err(format!("unbalanced quotes in <{tag}>"));
            }
            for (i, part) in tag.split('"').enumerate() {
                if i % 2 == 1 {
                    check_text(part)?;
                    if part.contains('<') {
                        return Err(format!("raw < in attribute {part:?}"));
                    }
                }
            }
            let name = tag
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("");
            if name.is_empty() {
                return Err(format!("empty tag name in <{tag}>"));
            }
            if stack.is_empty() {
                roots += 1;
            }
            if !tag.ends_with('/') {
                stack.push(name.to_string());
            }
        }
        if !rest.trim().is_empty() {
            return Err("text after the root".into());
        }
        if !stack.is_empty() {
            return Err(format!("unclosed <{}>", stack.join("> <")));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(())
    }

    #[test]
    fn xml_checker_catches_errors() {
        assert!(check_xml("<a><b/></a>").is_ok());
        for bad in [
            "<a><b></a>",
            "<a>x & y</a>",
            "<a x=\"1></a>",
            "<a/><b/>",
            "<a>",
        ] {
            assert!(check_xml(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn svg_is_well_formed_and_labelled() {
        let (kinds, rounds) = sample_rounds();
        let rows = summarize(&kinds, &rounds);
        let doc = svg(
            &rows,
            "rawrt HTTP benchmark <hello> & friends",
            &["2 cores, AMD \"EPYC\"".to_string()],
        );
        check_xml(&doc).unwrap();
        assert!(doc.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(doc.contains("&lt;hello&gt; &amp; friends"));
        for kind in Kind::ALL {
            assert!(doc.contains(&xml_escape(kind.label())), "{}", kind.label());
        }
        // Medians span 40 µs (p50) to 5 ms (p99): decades 10 µs .. 10 ms.
        assert!(doc.contains(">10 µs<"));
        assert!(doc.contains(">10 ms<"));
        assert!(!doc.contains(">100 ms<"));
        assert!(doc.contains("failed: server exited | early"));
        // Nothing measured at all still draws.
        let empty = vec![(Kind::RawrtMio, Row::NotBuilt("pending".into()))];
        check_xml(&svg(&empty, "t", &[])).unwrap();
    }
}
