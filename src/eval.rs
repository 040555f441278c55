//! Ranking evaluation: judged queries → nDCG@10, P@10 and Recall@100, for
//! trialsearch and for a plain BM25 baseline over the same trials.
//!
//! Inputs are TREC-style so standard files work: queries as `qid<TAB>text`
//! and qrels as `qid 0 docid grade` (grade 0, 1 or 2; ≥1 is relevant). The
//! baseline is what one gets from tantivy out of the box: every field in one
//! text field, the default tokenizer, no synonyms, no field weights, OR
//! semantics, BM25.

use crate::app::Outcome;
use crate::cli::EvalArgs;
use crate::error::{Error, Result};
use crate::index::IndexDir;
use crate::search::{Request, Searcher};
use crate::trial::Trial;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

/// Figures of one query.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueryScore {
    /// Query id.
    pub qid: String,
    /// Query text.
    pub query: String,
    /// nDCG at 10.
    pub ndcg10: f64,
    /// Precision at 10 (grade ≥ 1).
    pub p10: f64,
    /// Recall at 100 (grade ≥ 1).
    pub recall100: f64,
    /// Trials returned.
    pub returned: usize,
}

/// Figures of one system over the set.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// System name.
    pub system: String,
    /// Mean nDCG@10.
    pub ndcg10: f64,
    /// Mean P@10.
    pub p10: f64,
    /// Mean Recall@100.
    pub recall100: f64,
    /// Per query.
    pub queries: Vec<QueryScore>,
}

/// Read `qid<TAB>text` lines (a space also separates, for TREC topic lists).
pub fn read_queries(path: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(
            format!("cannot read the queries file {}", path.display()),
            e,
        )
    })?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (qid, q) = line
            .split_once('\t')
            .or_else(|| line.split_once(' '))
            .ok_or_else(|| Error::Input {
                path: path.to_path_buf(),
                reason: format!(
                    "line {}: expected `qid<TAB>query text` (the queries file comes first, then the qrels)",
                    n + 1
                ),
            })?;
        out.push((qid.trim().to_string(), q.trim().to_string()));
    }
    Ok(out)
}

/// Read TREC qrels: `qid iter docid grade`.
pub fn read_qrels(path: &Path) -> Result<HashMap<String, HashMap<String, u32>>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read the qrels file {}", path.display()), e))?;
    let mut out: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.is_empty() || parts[0].starts_with('#') {
            continue;
        }
        let bad = || Error::Input {
            path: path.to_path_buf(),
            reason: format!(
                "line {}: expected TREC qrels `qid 0 docid grade` (the qrels file comes second)",
                n + 1
            ),
        };
        if parts.len() != 4 {
            return Err(bad());
        }
        let grade: i64 = parts[3].parse().map_err(|_| bad())?;
        out.entry(parts[0].to_string())
            .or_default()
            .insert(parts[2].to_ascii_uppercase(), grade.max(0) as u32);
    }
    Ok(out)
}

/// nDCG@k with gains 2^grade − 1 and a log2 discount; the ideal ranking
/// comes from all judged documents of the query.
pub fn ndcg_at(ranked: &[String], judged: &HashMap<String, u32>, k: usize) -> f64 {
    let gain = |g: u32| (2f64.powi(g as i32)) - 1.0;
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, d)| gain(*judged.get(d).unwrap_or(&0)) / ((i + 2) as f64).log2())
        .sum();
    let mut ideal: Vec<u32> = judged.values().copied().filter(|g| *g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| gain(*g) / ((i + 2) as f64).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

/// Precision at k: relevant (grade ≥ 1) among the first k, over k.
pub fn precision_at(ranked: &[String], judged: &HashMap<String, u32>, k: usize) -> f64 {
    let rel = ranked
        .iter()
        .take(k)
        .filter(|d| judged.get(*d).copied().unwrap_or(0) > 0)
        .count();
    rel as f64 / k as f64
}

/// Recall at k: relevant found among the first k, over all relevant.
pub fn recall_at(ranked: &[String], judged: &HashMap<String, u32>, k: usize) -> f64 {
    let total = judged.values().filter(|g| **g > 0).count();
    if total == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| judged.get(*d).copied().unwrap_or(0) > 0)
        .count();
    found as f64 / total as f64
}

fn score(
    system: &str,
    queries: &[(String, String)],
    qrels: &HashMap<String, HashMap<String, u32>>,
    mut rank: impl FnMut(&str) -> Result<Vec<String>>,
) -> Result<Report> {
    let empty = HashMap::new();
    let mut rows = Vec::new();
    for (qid, q) in queries {
        let judged = qrels.get(qid).unwrap_or(&empty);
        let ranked = rank(q)?;
        rows.push(QueryScore {
            qid: qid.clone(),
            query: q.clone(),
            ndcg10: ndcg_at(&ranked, judged, 10),
            p10: precision_at(&ranked, judged, 10),
            recall100: recall_at(&ranked, judged, 100),
            returned: ranked.len(),
        });
    }
    let n = rows.len().max(1) as f64;
    let mean = |f: fn(&QueryScore) -> f64| rows.iter().map(f).sum::<f64>() / n;
    Ok(Report {
        system: system.to_string(),
        ndcg10: mean(|r| r.ndcg10),
        p10: mean(|r| r.p10),
        recall100: mean(|r| r.recall100),
        queries: rows,
    })
}

fn doc_key(t: &Trial) -> String {
    t.nct_id
        .clone()
        .unwrap_or_else(|| t.id.clone())
        .to_ascii_uppercase()
}

/// Rank with trialsearch itself: the top 100 ids.
pub fn trialsearch_ranking(s: &Searcher, q: &str) -> Result<Vec<String>> {
    let req = Request {
        text: q.to_string(),
        limit: 100,
        snippets: false,
        ..Default::default()
    };
    Ok(s.search(&req)?
        .hits
        .iter()
        .map(|h| doc_key(&h.trial))
        .collect())
}

/// The plain BM25 baseline over the same trials, in memory.
pub struct Baseline {
    index: tantivy::Index,
    reader: tantivy::IndexReader,
    text: tantivy::schema::Field,
    id: tantivy::schema::Field,
}

impl Baseline {
    /// Index every trial of `s` with tantivy's defaults.
    pub fn build(s: &Searcher) -> Result<Baseline> {
        use tantivy::schema::{Schema, STORED, STRING, TEXT};
        let mut b = Schema::builder();
        let text = b.add_text_field("text", TEXT);
        let id = b.add_text_field("id", STRING | STORED);
        let index = tantivy::Index::create_in_ram(b.build());
        let mut w: tantivy::IndexWriter = index.writer_with_num_threads(1, 50 << 20)?;
        let all = s.all_matching(&Request::default())?;
        for t in &all {
            let mut d = tantivy::TantivyDocument::default();
            d.add_text(id, doc_key(t));
            for part in baseline_text(t) {
                d.add_text(text, part);
            }
            w.add_document(d)?;
        }
        w.commit()?;
        let reader = index.reader()?;
        Ok(Baseline {
            index,
            reader,
            text,
            id,
        })
    }

    /// The top 100 ids for a query, parsed leniently by tantivy's QueryParser.
    pub fn rank(&self, q: &str) -> Result<Vec<String>> {
        use tantivy::schema::Value;
        let parser = tantivy::query::QueryParser::for_index(&self.index, vec![self.text]);
        let (query, _) = parser.parse_query_lenient(q);
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &*query,
            &tantivy::collector::TopDocs::with_limit(100).order_by_score(),
        )?;
        let mut out = Vec::new();
        for (_, addr) in top {
            let d: tantivy::TantivyDocument = searcher.doc(addr)?;
            if let Some(v) = d.get_first(self.id).and_then(|v| v.as_str()) {
                out.push(v.to_string());
            }
        }
        Ok(out)
    }
}

fn baseline_text(t: &Trial) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    v.extend(t.nct_id.clone());
    v.extend(t.secondary_ids.iter().cloned());
    v.extend(t.title.clone());
    v.extend(t.official_title.clone());
    v.extend(t.acronym.clone());
    v.extend(t.conditions.iter().cloned());
    v.extend(t.keywords.iter().cloned());
    v.extend(t.interventions.iter().map(|i| i.name.clone()));
    v.extend(t.summary.clone());
    v.extend(t.description.clone());
    v.extend(t.inclusion_criteria.iter().cloned());
    v.extend(t.exclusion_criteria.iter().cloned());
    v.extend(t.outcomes.iter().cloned());
    v.extend(t.sponsor.clone());
    v.extend(t.collaborators.iter().cloned());
    v.extend(t.other_text.clone());
    v
}

/// Evaluate trialsearch (and optionally the baseline) on a judged set.
pub fn evaluate(
    dir: &IndexDir,
    queries: &Path,
    qrels: &Path,
    baseline: bool,
) -> Result<Vec<Report>> {
    let qs = read_queries(queries)?;
    let qr = read_qrels(qrels)?;
    let s = Searcher::open(dir)?;
    let mut reports = vec![score("trialsearch", &qs, &qr, |q| {
        trialsearch_ranking(&s, q)
    })?];
    if baseline {
        let b = Baseline::build(&s)?;
        reports.push(score("bm25-baseline", &qs, &qr, |q| b.rank(q))?);
    }
    Ok(reports)
}

/// The `eval` command.
pub fn run_eval(dir: &IndexDir, a: &EvalArgs, out: &mut dyn Write) -> anyhow::Result<Outcome> {
    let reports = evaluate(dir, &a.queries, &a.qrels, a.baseline)?;
    if let Some(path) = &a.run {
        let s = Searcher::open(dir)?;
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for (qid, q) in read_queries(&a.queries)? {
            for (i, d) in trialsearch_ranking(&s, &q)?.iter().enumerate() {
                writeln!(f, "{qid} Q0 {d} {} {} trialsearch", i + 1, 100 - i.min(99))?;
            }
        }
    }
    if a.json {
        let by: BTreeMap<&str, &Report> = reports.iter().map(|r| (r.system.as_str(), r)).collect();
        serde_json::to_writer_pretty(&mut *out, &by)?;
        writeln!(out)?;
        return Ok(Outcome::Found);
    }
    let main = &reports[0];
    let base = reports.get(1);
    writeln!(
        out,
        "{:<6} {:>8} {:>6} {:>8}{}  query",
        "qid",
        "nDCG@10",
        "P@10",
        "R@100",
        if base.is_some() { "  base nDCG" } else { "" }
    )?;
    for (i, r) in main.queries.iter().enumerate() {
        let b = base
            .map(|b| format!("  {:>10.3}", b.queries[i].ndcg10))
            .unwrap_or_default();
        writeln!(
            out,
            "{:<6} {:>8.3} {:>6.2} {:>8.3}{b}  {}",
            r.qid, r.ndcg10, r.p10, r.recall100, r.query
        )?;
    }
    writeln!(out)?;
    for r in &reports {
        writeln!(
            out,
            "{:<14} nDCG@10 {:.4}  P@10 {:.4}  Recall@100 {:.4}  ({} queries)",
            r.system,
            r.ndcg10,
            r.p10,
            r.recall100,
            r.queries.len()
        )?;
    }
    if let Some(b) = base {
        if b.ndcg10 > 0.0 {
            writeln!(
                out,
                "nDCG@10 vs baseline: {:+.1}%",
                (main.ndcg10 / b.ndcg10 - 1.0) * 100.0
            )?;
        }
    }
    Ok(Outcome::Found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        let judged: HashMap<String, u32> = [("A", 2), ("B", 1), ("C", 0), ("D", 2)]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        let ranked: Vec<String> = ["C", "A", "B"].iter().map(|s| s.to_string()).collect();
        // DCG = 3/log2(3) + 1/log2(4); IDCG = 3/1 + 3/log2(3) + 1/2.
        let dcg = 3.0 / 3f64.log2() + 1.0 / 2.0;
        let idcg = 3.0 + 3.0 / 3f64.log2() + 0.5;
        assert!((ndcg_at(&ranked, &judged, 10) - dcg / idcg).abs() < 1e-9);
        assert!((precision_at(&ranked, &judged, 10) - 0.2).abs() < 1e-9);
        assert!((recall_at(&ranked, &judged, 100) - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(ndcg_at(&[], &judged, 10), 0.0);
    }
}
