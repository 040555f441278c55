//! Stage 6, text: results and records for people in a terminal — title in
//! bold, status coloured by meaning, matched words highlighted, wrapped to
//! the terminal's width, facet counts as a compact footer.

use crate::render::json::source_string;
use crate::search::SearchResult;
use crate::trial::{Status, Trial};
use std::io::{self, Write};

/// How to draw text.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Use ANSI colours and bold.
    pub color: bool,
    /// Wrap width in columns (`usize::MAX`: no wrapping).
    pub width: usize,
}

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const HIGHLIGHT: &str = "\x1b[1;33m";

/// A status's colour by what it means to someone looking for a trial:
/// green open, yellow soon or closed to new patients, red stopped, dim over.
fn status_code(s: Status) -> &'static str {
    match s {
        Status::Recruiting | Status::Available | Status::EnrollingByInvitation => GREEN,
        Status::NotYetRecruiting | Status::ActiveNotRecruiting => YELLOW,
        Status::Terminated | Status::Withdrawn | Status::Suspended => RED,
        _ => DIM,
    }
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    fn status(&self, s: Option<Status>) -> String {
        match s {
            Some(s) => self.paint(status_code(s), s.as_str()),
            None => self.paint(DIM, "status not given"),
        }
    }

    /// Turn `<mark>`…`</mark>` into highlighting, or `*word*` without colour.
    fn marks(&self, s: &str) -> String {
        if self.color {
            s.replace("<mark>", HIGHLIGHT).replace("</mark>", RESET)
        } else {
            s.replace("<mark>", "*").replace("</mark>", "*")
        }
    }
}

/// Wrap `text` to `width` columns: `first` starts the first line, `rest`
/// the others. ANSI escapes take no columns (textwrap skips them), so text
/// may be painted before it is wrapped.
fn wrap_with(text: &str, width: usize, first: &str, rest: &str) -> String {
    if width == usize::MAX || width <= rest.len() + 20 {
        return format!("{first}{text}");
    }
    let opts = textwrap::Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest);
    textwrap::fill(text, opts)
}

fn wrap(text: &str, width: usize, indent: &str) -> String {
    wrap_with(text, width, indent, indent)
}

fn join<T: AsRef<str>>(v: &[T]) -> String {
    v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

/// The first `max` distinct values (ignoring case), then "+N more": a long
/// list of conditions or countries should not push the next result off
/// the screen.
fn few<T: AsRef<str>>(v: &[T], max: usize, sep: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for x in v {
        let x = x.as_ref().trim();
        if !x.is_empty() && !seen.iter().any(|s| s.eq_ignore_ascii_case(x)) {
            seen.push(x);
        }
    }
    let more = seen.len().saturating_sub(max);
    seen.truncate(max);
    let mut out = seen.join(sep);
    if more > 0 {
        out.push_str(&format!(" +{more} more"));
    }
    out
}

/// Snippets are kept to this many lines: enough to see why a trial matched.
const SNIPPET_LINES: usize = 3;

/// Keep the first `max` lines; end the last kept one with `…` if text was cut.
fn clip_lines(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max {
        return text.to_string();
    }
    let mut out = lines[..max].join("\n");
    if !out.ends_with('…') {
        out.push_str(" …");
    }
    out
}

/// Print the hit list and the facet footer.
pub fn write_results(w: &mut dyn Write, r: &SearchResult, st: &Style) -> io::Result<()> {
    for n in &r.notes {
        writeln!(w, "{}", st.paint(DIM, &format!("note: {n}")))?;
    }
    for h in &r.hits {
        let t = &h.trial;
        // Wrapped under the title's first letter, past the rank.
        let title = wrap_with(
            t.display_title(),
            st.width,
            &format!("{:>2}. ", h.rank),
            "    ",
        );
        writeln!(w, "{}", st.paint(BOLD, &title))?;
        let mut line = vec![st.paint(CYAN, &t.id), st.status(t.status)];
        if !t.phases.is_empty() {
            line.push(join(
                &t.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            ));
        }
        if !t.countries.is_empty() {
            line.push(few(&t.countries, 3, "; "));
        }
        writeln!(w, "{}", wrap(&line.join(" · "), st.width, "    "))?;
        if !t.conditions.is_empty() {
            let c = format!("Conditions: {}", few(&t.conditions, 4, ", "));
            writeln!(w, "{}", wrap(&c, st.width, "    "))?;
        }
        if let Some(s) = &t.sponsor {
            writeln!(w, "{}", wrap(&format!("Sponsor: {s}"), st.width, "    "))?;
        }
        // A snippet of the title would only repeat the line above.
        if !h.snippet.is_empty() && h.snippet_field != "title" {
            let text = wrap(&st.marks(&h.snippet), st.width, "    ");
            writeln!(w, "{}", clip_lines(&text, SNIPPET_LINES))?;
        }
        if let Some(e) = &h.explain {
            writeln!(
                w,
                "{}",
                st.paint(DIM, &format!("    score {:.2} from:", h.score))
            )?;
            for c in e {
                let what = match c.kind.as_str() {
                    "literal" => format!("{}: \"{}\"", c.field, c.text),
                    "phase" | "status" => format!("{} {} boost", c.kind, c.text),
                    "every concept" => format!("every concept matched ({})", c.text),
                    k => format!("{}: {k} \"{}\"", c.field, c.text),
                };
                writeln!(
                    w,
                    "{}",
                    st.paint(DIM, &format!("      {what} {:.2}", c.score))
                )?;
            }
        }
        writeln!(w)?;
    }
    let shown = if r.hits.is_empty() {
        String::from("no trials match")
    } else {
        format!(
            "{} trial{} match; showing {}–{}",
            r.total,
            if r.total == 1 { "" } else { "s" },
            r.hits.first().map(|h| h.rank).unwrap_or(0),
            r.hits.last().map(|h| h.rank).unwrap_or(0)
        )
    };
    writeln!(w, "{}", st.paint(BOLD, &shown))?;
    write_facets(w, r, st)
}

/// Values per field in the facet footer.
const FOOTER_VALUES: usize = 12;

/// The facet footer: one line per field, labels aligned, `value (count)`
/// items packed to the width and never split across lines. Status and phase
/// come first, in their vocabulary's order (the collector's), then the
/// requested fields by count.
fn write_facets(w: &mut dyn Write, r: &SearchResult, st: &Style) -> io::Result<()> {
    let mut fields: Vec<(&String, &Vec<(String, u64)>)> =
        r.facets.iter().filter(|(_, v)| !v.is_empty()).collect();
    let rank = |f: &str| match f {
        "status" => 0,
        "phase" => 1,
        _ => 2,
    };
    fields.sort_by_key(|(f, _)| rank(f));
    let label_w = fields.iter().map(|(f, _)| f.len() + 1).max().unwrap_or(0);
    for (field, values) in fields {
        let label = format!("{:<label_w$} ", format!("{field}:"));
        let indent = " ".repeat(label.len());
        // Beyond a dozen values a footer stops being a glance; `facets FIELD`
        // and --json have the full lists.
        let more = values.len() > FOOTER_VALUES;
        let mut items: Vec<(usize, String)> = values
            .iter()
            .take(FOOTER_VALUES)
            .map(|(v, n)| {
                // A value longer than the line is cut, so it cannot wrap raggedly.
                let room = st.width.saturating_sub(label.len() + 8).max(20);
                let v = &if v.chars().count() > room {
                    let mut cut: String = v.chars().take(room - 1).collect();
                    cut.push('…');
                    cut
                } else {
                    v.clone()
                };
                let plain = format!("{v} ({n})");
                let value = match crate::normalize::parse_status(v) {
                    _ if v == "Not given" => st.paint(DIM, v),
                    Some(s) if field == "status" => st.paint(status_code(s), v),
                    _ => v.clone(),
                };
                let painted = format!("{value} {}", st.paint(DIM, &format!("({n})")));
                (plain.chars().count(), painted)
            })
            .collect();
        if more {
            items.push((1, "…".to_string()));
        }
        let mut line = st.paint(DIM, &label);
        let mut col = label.len();
        let mut first = true;
        for (len, item) in items {
            let sep = if first { "" } else { " · " };
            let sep_w = sep.chars().count();
            if !first && st.width != usize::MAX && col + sep_w + len > st.width {
                writeln!(w, "{line}")?;
                line = indent.clone();
                col = indent.len();
            } else {
                line.push_str(sep);
                col += sep_w;
            }
            line.push_str(&item);
            col += len;
            first = false;
        }
        writeln!(w, "{line}")?;
    }
    Ok(())
}

fn section(w: &mut dyn Write, st: &Style, name: &str) -> io::Result<()> {
    writeln!(w)?;
    writeln!(w, "{}", st.paint(BOLD, name))
}

/// Labels of `show` are padded to this width so values line up.
const LABEL_W: usize = 20;

/// `  Label:            value`, wrapped under the value; nothing when empty.
fn field(w: &mut dyn Write, st: &Style, name: &str, value: &str) -> io::Result<()> {
    if value.trim().is_empty() {
        return Ok(());
    }
    let first = format!("  {:<LABEL_W$}", format!("{name}:"));
    let rest = " ".repeat(first.len());
    writeln!(w, "{}", wrap_with(value, st.width, &first, &rest))
}

/// A bulleted list item, wrapped under its text.
fn bullet(w: &mut dyn Write, st: &Style, indent: &str, text: &str) -> io::Result<()> {
    let first = format!("{indent}• ");
    let rest = format!("{indent}  ");
    writeln!(w, "{}", wrap_with(text, st.width, &first, &rest))
}

/// Paragraphs of prose, each wrapped, a blank line between them.
fn prose(w: &mut dyn Write, st: &Style, text: &str) -> io::Result<()> {
    let paras: Vec<&str> = text.split('\n').filter(|p| !p.trim().is_empty()).collect();
    for (i, para) in paras.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        writeln!(w, "{}", wrap(para.trim(), st.width, "  "))?;
    }
    Ok(())
}

fn age(a: Option<f64>) -> String {
    match a {
        Some(1.0) => "1 year".to_string(),
        Some(y) if y.fract() == 0.0 => format!("{y} years"),
        Some(y) if y < 2.0 => match (y * 12.0).round() {
            1.0 => "1 month".to_string(),
            m => format!("{m:.0} months"),
        },
        Some(y) => format!("{y:.1} years"),
        None => String::new(),
    }
}

/// Sites listed by `show` before "… and N more" (`--json` has them all).
const MAX_SITES: usize = 25;

/// Print a whole record with sections: overview, summary, description,
/// design, eligibility (criteria as lists), outcomes, locations and
/// contacts, sources. Empty fields and sections are left out.
pub fn write_trial(w: &mut dyn Write, t: &Trial, st: &Style) -> io::Result<()> {
    writeln!(
        w,
        "{}",
        st.paint(BOLD, &wrap(t.display_title(), st.width, ""))
    )?;
    let mut head = vec![st.paint(CYAN, &t.id), st.status(t.status)];
    if !t.phases.is_empty() {
        head.push(join(
            &t.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        ));
    }
    if let Some(ty) = t.study_type {
        head.push(ty.as_str().to_string());
    }
    writeln!(w, "{}", wrap(&head.join(" · "), st.width, ""))?;

    section(w, st, "Overview")?;
    if t.official_title.as_deref() != Some(t.display_title()) {
        field(
            w,
            st,
            "Official title",
            t.official_title.as_deref().unwrap_or(""),
        )?;
    }
    field(w, st, "Acronym", t.acronym.as_deref().unwrap_or(""))?;
    let other_ids: Vec<&String> = t.secondary_ids.iter().filter(|i| **i != t.id).collect();
    field(w, st, "Other ids", &join(&other_ids))?;
    field(w, st, "Conditions", &join(&t.conditions))?;
    field(w, st, "Keywords", &join(&t.keywords))?;
    field(w, st, "Sponsor", t.sponsor.as_deref().unwrap_or(""))?;
    field(w, st, "Collaborators", &join(&t.collaborators))?;
    field(
        w,
        st,
        "Enrollment",
        &t.enrollment.map(|e| e.to_string()).unwrap_or_default(),
    )?;
    field(w, st, "Start", t.start_date.as_deref().unwrap_or(""))?;
    field(
        w,
        st,
        "Completion",
        t.completion_date.as_deref().unwrap_or(""),
    )?;
    field(
        w,
        st,
        "First posted",
        t.first_posted.as_deref().unwrap_or(""),
    )?;
    field(
        w,
        st,
        "Last updated",
        t.last_updated.as_deref().unwrap_or(""),
    )?;
    field(w, st, "Why stopped", t.why_stopped.as_deref().unwrap_or(""))?;
    if !t.interventions.is_empty() {
        writeln!(w, "  Interventions:")?;
        for i in &t.interventions {
            let mut s = match &i.kind {
                Some(k) => format!("{k}: {}", i.name),
                None => i.name.clone(),
            };
            if !i.other_names.is_empty() {
                s.push_str(&format!(" (also {})", join(&i.other_names)));
            }
            bullet(w, st, "    ", &s)?;
        }
    }

    if let Some(s) = &t.summary {
        section(w, st, "Summary")?;
        prose(w, st, s)?;
    }
    if let Some(d) = &t.description {
        section(w, st, "Description")?;
        prose(w, st, d)?;
    }

    if !t.design.is_empty() {
        section(w, st, "Design")?;
        field(
            w,
            st,
            "Allocation",
            t.design.allocation.as_deref().unwrap_or(""),
        )?;
        field(w, st, "Masking", t.design.masking.as_deref().unwrap_or(""))?;
        field(w, st, "Model", t.design.model.as_deref().unwrap_or(""))?;
        field(w, st, "Purpose", t.design.purpose.as_deref().unwrap_or(""))?;
    }

    section(w, st, "Eligibility")?;
    let ages = match (t.min_age_years, t.max_age_years) {
        (None, None) => String::new(),
        (Some(a), None) => format!("{} and older", age(Some(a))),
        (None, Some(b)) => format!("up to {}", age(Some(b))),
        (Some(a), Some(b)) => format!("{} to {}", age(Some(a)), age(Some(b))),
    };
    field(w, st, "Ages", &ages)?;
    field(w, st, "Sex", t.sex.map(|s| s.as_str()).unwrap_or(""))?;
    field(
        w,
        st,
        "Healthy volunteers",
        match t.healthy_volunteers {
            Some(true) => "accepted",
            Some(false) => "not accepted",
            None => "",
        },
    )?;
    for (name, list) in [
        ("Inclusion criteria", &t.inclusion_criteria),
        ("Exclusion criteria", &t.exclusion_criteria),
    ] {
        if !list.is_empty() {
            writeln!(w, "  {name}:")?;
            for c in list {
                bullet(w, st, "    ", c)?;
            }
        }
    }
    if ages.is_empty()
        && t.sex.is_none()
        && t.inclusion_criteria.is_empty()
        && t.exclusion_criteria.is_empty()
    {
        writeln!(w, "  {}", st.paint(DIM, "not given"))?;
    }

    if !t.outcomes.is_empty() {
        section(w, st, "Outcomes")?;
        for o in &t.outcomes {
            bullet(w, st, "  ", o)?;
        }
    }

    if !t.locations.is_empty()
        || !t.countries.is_empty()
        || !t.officials.is_empty()
        || !t.contacts.is_empty()
    {
        section(w, st, "Locations and contacts")?;
        field(w, st, "Countries", &few(&t.countries, usize::MAX, ", "))?;
        if !t.locations.is_empty() {
            writeln!(w, "  Sites:")?;
        }
        for l in t.locations.iter().take(MAX_SITES) {
            let s: Vec<&str> = [&l.facility, &l.city, &l.state, &l.country]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            let status = l
                .status
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            bullet(w, st, "    ", &format!("{}{status}", s.join(", ")))?;
        }
        if t.locations.len() > MAX_SITES {
            writeln!(
                w,
                "    … and {} more sites (all are in `show {} --json`)",
                t.locations.len() - MAX_SITES,
                t.id
            )?;
        }
        if !t.officials.is_empty() || !t.contacts.is_empty() {
            writeln!(w, "  People:")?;
        }
        for p in t.officials.iter().chain(&t.contacts) {
            let mut s = p.name.clone();
            for x in [&p.role, &p.affiliation, &p.email, &p.phone]
                .into_iter()
                .flatten()
            {
                s.push_str(", ");
                s.push_str(x);
            }
            bullet(w, st, "    ", &s)?;
        }
    }

    section(w, st, "Sources")?;
    for s in &t.sources {
        bullet(w, st, "  ", &format!("{} ({})", source_string(s), s.format))?;
    }
    Ok(())
}
