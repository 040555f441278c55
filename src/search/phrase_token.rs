//! Stage 5 helper: a vocabulary phrase searched through its phrase token
//! ([`crate::index::phrases`]).
//!
//! It matches the documents a slop-0 [`tantivy::query::PhraseQuery`] of the
//! same words matches, and scores them as tantivy scores a phrase: BM25 with
//! the sum of the words' idf, the phrase's frequency and the field's norms.
//! Only the postings differ: the phrase token's, read as a term's, instead
//! of the words' intersected and their positions compared. It reports the
//! words as its terms, so snippets highlight them as before.

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::query::{
    Bm25Weight, ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, DocSet, Score, SegmentReader, TantivyError, Term};

/// A phrase, searched through its phrase token.
#[derive(Clone, Debug)]
pub struct PhraseTokenQuery {
    token: Term,
    words: Vec<Term>,
}

impl PhraseTokenQuery {
    /// The phrase of `words` (two or more, one field), whose phrase token is
    /// `token` in the same field.
    pub fn new(token: Term, words: Vec<Term>) -> PhraseTokenQuery {
        PhraseTokenQuery { token, words }
    }

    /// One term, matched and scored as [`tantivy::query::TermQuery`] does
    /// (BM25 of the term, its frequency, the field's norms), by a scorer
    /// whose score bound a [`super::pruned::Pruned`] walk can read
    /// (tantivy's term scorer is not public).
    pub fn term(term: Term) -> PhraseTokenQuery {
        PhraseTokenQuery {
            token: term.clone(),
            words: vec![term],
        }
    }
}

impl Query for PhraseTokenQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let bm25 = match enable_scoring {
            EnableScoring::Enabled {
                statistics_provider,
                ..
            } if !self.words.is_empty() => {
                Some(Bm25Weight::for_terms(statistics_provider, &self.words)?)
            }
            _ => None,
        };
        Ok(Box::new(PhraseTokenWeight {
            token: self.token.clone(),
            bm25,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        let phrase = self.words.len() > 1;
        for w in &self.words {
            visitor(w, phrase);
        }
    }
}

struct PhraseTokenWeight {
    token: Term,
    /// `None` when scoring is disabled.
    bm25: Option<Bm25Weight>,
}

impl PhraseTokenWeight {
    fn term_scorer(
        &self,
        reader: &SegmentReader,
        boost: Score,
    ) -> tantivy::Result<Option<TokenScorer>> {
        let Some(bm25) = &self.bm25 else {
            return Ok(None);
        };
        let field = self.token.field();
        let index = reader.inverted_index(field)?;
        let Some(info) = index.get_term_info(&self.token)? else {
            return Ok(None);
        };
        let postings = index.read_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)?;
        let norms = match reader.fieldnorms_readers().get_field(field)? {
            Some(n) => n,
            None => FieldNormReader::constant(reader.max_doc(), 1),
        };
        Ok(Some(TokenScorer {
            postings,
            norms,
            bm25: bm25.boost_by(boost),
        }))
    }
}

impl Weight for PhraseTokenWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        if self.bm25.is_some() {
            return Ok(match self.term_scorer(reader, boost)? {
                Some(s) => Box::new(s),
                None => Box::new(EmptyScorer),
            });
        }
        let index = reader.inverted_index(self.token.field())?;
        Ok(
            match index.read_postings(&self.token, IndexRecordOption::Basic)? {
                Some(postings) => Box::new(ConstScorer::new(postings, boost)),
                None => Box::new(EmptyScorer),
            },
        )
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let no_match =
            || TantivyError::InvalidArgument(format!("Document #({doc}) does not match"));
        let Some(bm25) = &self.bm25 else {
            let mut s = self.scorer(reader, 1.0)?;
            return if s.seek(doc) == doc {
                Ok(Explanation::new("Phrase Scorer", s.score()))
            } else {
                Err(no_match())
            };
        };
        let Some(mut s) = self.term_scorer(reader, 1.0)? else {
            return Err(no_match());
        };
        if s.seek(doc) != doc {
            return Err(no_match());
        }
        let mut e = Explanation::new("Phrase Scorer", s.score());
        e.add_detail(bm25.explain(s.fieldnorm_id(), s.postings.term_freq()));
        Ok(e)
    }
}

/// The phrase token's postings scored as a phrase (tantivy's term scorer,
/// which does the same, is not public).
pub struct TokenScorer {
    postings: SegmentPostings,
    norms: FieldNormReader,
    bm25: Bm25Weight,
}

impl TokenScorer {
    fn fieldnorm_id(&self) -> u8 {
        self.norms.fieldnorm_id(self.postings.doc())
    }

    /// The most any document can score: tantivy's bound for its own
    /// block-max pruning, a frequency as high as the longest field's.
    pub fn max_score(&self) -> Score {
        self.bm25.max_score()
    }
}

impl DocSet for TokenScorer {
    fn advance(&mut self) -> DocId {
        self.postings.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.postings.seek(target)
    }

    fn doc(&self) -> DocId {
        self.postings.doc()
    }

    fn size_hint(&self) -> u32 {
        self.postings.size_hint()
    }
}

impl Scorer for TokenScorer {
    fn score(&mut self) -> Score {
        self.bm25
            .score(self.fieldnorm_id(), self.postings.term_freq())
    }
}
