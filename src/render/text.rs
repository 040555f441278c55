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

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    fn status(&self, s: Option<Status>) -> String {
        let Some(s) = s else {
            return self.paint(DIM, "status unknown");
        };
        let code = match s {
            Status::Recruiting | Status::Available | Status::EnrollingByInvitation => GREEN,
            Status::NotYetRecruiting | Status::ActiveNotRecruiting => YELLOW,
            Status::Terminated | Status::Withdrawn | Status::Suspended => RED,
            _ => DIM,
        };
        self.paint(code, s.as_str())
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

fn wrap(text: &str, width: usize, indent: &str) -> String {
    if width == usize::MAX || width <= indent.len() + 20 {
        return format!("{indent}{text}");
    }
    let opts = textwrap::Options::new(width)
        .initial_indent(indent)
        .subsequent_indent(indent);
    textwrap::fill(text, opts)
}

fn join<T: AsRef<str>>(v: &[T]) -> String {
    v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
}

/// Print the hit list and the facet footer.
pub fn write_results(w: &mut dyn Write, r: &SearchResult, st: &Style) -> io::Result<()> {
    for n in &r.notes {
        writeln!(w, "{}", st.paint(DIM, &format!("note: {n}")))?;
    }
    for h in &r.hits {
        let t = &h.trial;
        let title = format!("{:>2}. {}", h.rank, t.display_title());
        writeln!(w, "{}", st.paint(BOLD, &wrap(&title, st.width, "")))?;
        let mut line = vec![st.paint(CYAN, &t.id), st.status(t.status)];
        if !t.phases.is_empty() {
            line.push(join(
                &t.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            ));
        }
        if !t.countries.is_empty() {
            let mut c: Vec<&str> = t.countries.iter().map(String::as_str).take(4).collect();
            if t.countries.len() > 4 {
                c.push("…");
            }
            line.push(c.join(", "));
        }
        writeln!(w, "    {}", line.join(" · "))?;
        if !t.conditions.is_empty() {
            writeln!(
                w,
                "{}",
                wrap(
                    &format!("Conditions: {}", join(&t.conditions)),
                    st.width,
                    "    "
                )
            )?;
        }
        if let Some(s) = &t.sponsor {
            writeln!(w, "{}", wrap(&format!("Sponsor: {s}"), st.width, "    "))?;
        }
        if !h.snippet.is_empty() {
            // Wrap before painting, so escape codes do not count as width.
            let plain = wrap(&h.snippet, st.width, "    ");
            writeln!(w, "{}", st.marks(&plain))?;
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
    for (field, values) in &r.facets {
        if values.is_empty() {
            continue;
        }
        let parts: Vec<String> = values.iter().map(|(v, n)| format!("{v} {n}")).collect();
        let line = format!("{field}: {}", parts.join(" · "));
        writeln!(w, "{}", st.paint(DIM, &wrap(&line, st.width, "")))?;
    }
    Ok(())
}

fn section(w: &mut dyn Write, st: &Style, name: &str) -> io::Result<()> {
    writeln!(w)?;
    writeln!(w, "{}", st.paint(BOLD, name))
}

fn field(w: &mut dyn Write, st: &Style, name: &str, value: &str) -> io::Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    writeln!(w, "{}", wrap(&format!("{name}: {value}"), st.width, "  "))
}

fn age(a: Option<f64>) -> String {
    match a {
        Some(y) if y.fract() == 0.0 => format!("{y} years"),
        Some(y) if y < 2.0 => format!("{:.0} months", y * 12.0),
        Some(y) => format!("{y:.1} years"),
        None => String::new(),
    }
}

/// Print a whole record with sections.
pub fn write_trial(w: &mut dyn Write, t: &Trial, st: &Style) -> io::Result<()> {
    writeln!(
        w,
        "{}",
        st.paint(BOLD, &wrap(t.display_title(), st.width, ""))
    )?;
    let mut ids = vec![st.paint(CYAN, &t.id)];
    ids.extend(t.secondary_ids.iter().cloned());
    writeln!(w, "{} · {}", ids.join(" · "), st.status(t.status))?;

    section(w, st, "Overview")?;
    field(
        w,
        st,
        "Official title",
        t.official_title.as_deref().unwrap_or(""),
    )?;
    field(w, st, "Acronym", t.acronym.as_deref().unwrap_or(""))?;
    field(
        w,
        st,
        "Phases",
        &join(&t.phases.iter().map(|p| p.as_str()).collect::<Vec<_>>()),
    )?;
    field(
        w,
        st,
        "Study type",
        t.study_type.map(|s| s.as_str()).unwrap_or(""),
    )?;
    field(w, st, "Conditions", &join(&t.conditions))?;
    let iv: Vec<String> = t
        .interventions
        .iter()
        .map(|i| match &i.kind {
            Some(k) => format!("{k}: {}", i.name),
            None => i.name.clone(),
        })
        .collect();
    field(w, st, "Interventions", &join(&iv))?;
    field(w, st, "Sponsor", t.sponsor.as_deref().unwrap_or(""))?;
    field(w, st, "Collaborators", &join(&t.collaborators))?;
    field(
        w,
        st,
        "Enrollment",
        &t.enrollment.map(|e| e.to_string()).unwrap_or_default(),
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
    field(w, st, "Start", t.start_date.as_deref().unwrap_or(""))?;
    field(
        w,
        st,
        "Completion",
        t.completion_date.as_deref().unwrap_or(""),
    )?;
    field(w, st, "Why stopped", t.why_stopped.as_deref().unwrap_or(""))?;
    if let Some(s) = &t.summary {
        writeln!(w)?;
        writeln!(w, "{}", wrap(s, st.width, "  "))?;
    }
    if let Some(d) = &t.description {
        writeln!(w)?;
        for para in d.split('\n').filter(|p| !p.trim().is_empty()) {
            writeln!(w, "{}", wrap(para, st.width, "  "))?;
        }
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
                let opts = if st.width == usize::MAX {
                    format!("    • {c}")
                } else {
                    textwrap::fill(
                        c,
                        textwrap::Options::new(st.width)
                            .initial_indent("    • ")
                            .subsequent_indent("      "),
                    )
                };
                writeln!(w, "{opts}")?;
            }
        }
    }

    if !t.locations.is_empty() || !t.countries.is_empty() || !t.officials.is_empty() {
        section(w, st, "Locations and contacts")?;
        field(w, st, "Countries", &join(&t.countries))?;
        for l in t.locations.iter().take(50) {
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
            writeln!(
                w,
                "{}",
                wrap(&format!("• {}{status}", s.join(", ")), st.width, "  ")
            )?;
        }
        if t.locations.len() > 50 {
            writeln!(w, "  … and {} more sites", t.locations.len() - 50)?;
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
            writeln!(w, "{}", wrap(&s, st.width, "  "))?;
        }
    }

    section(w, st, "Sources")?;
    for s in &t.sources {
        writeln!(w, "  {} ({})", source_string(s), s.format)?;
    }
    Ok(())
}
