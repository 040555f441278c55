//! Stage 4 helper: the biomedical analyzer as tantivy tokenizers, used for
//! indexing and for queries alike (registered once under [`BIO`] and
//! [`BIO_STEM`], so indexed terms and query terms cannot drift). The
//! analysis itself is in [`super::analysis`].

pub use super::analysis::{
    analyze_into, analyze_positions, analyze_reusing, analyze_stemming, fold, Stemming,
};
use super::phrases::PhraseSet;
use std::sync::Arc;
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

/// Name of the analyzer without stemming (ids, names, titles of things).
pub const BIO: &str = "bio";
/// Name of the analyzer with English stemming (prose fields).
pub const BIO_STEM: &str = "bio_stem";

/// Tokens a tokenizer keeps for reuse beyond those of its last text; more
/// than the tokens of nearly every field value of a study.
const SPARE_TOKENS: usize = 4096;

/// The tokenizer behind both analyzers.
#[derive(Clone, Default)]
pub struct BioTokenizer {
    stem: bool,
    /// Tokens of the last text first, then spare ones whose buffers the
    /// next text reuses.
    tokens: Vec<Token>,
    folded: String,
    /// Phrases to mark with phrase tokens ([`super::phrases`]).
    phrases: Option<&'static PhraseSet>,
    /// Stem only words starting with one of these ([`Stemming::Only`]).
    only: Option<Arc<[String]>>,
}

impl BioTokenizer {
    /// Without stemming.
    pub fn plain() -> Self {
        BioTokenizer {
            stem: false,
            ..Default::default()
        }
    }

    /// With English stemming of alphabetic tokens.
    pub fn stemming() -> Self {
        BioTokenizer {
            stem: true,
            ..Default::default()
        }
    }

    /// Also emitting a phrase token for each occurrence of a phrase of
    /// `phrases`.
    pub fn with_phrases(self, phrases: &'static PhraseSet) -> Self {
        BioTokenizer {
            phrases: Some(phrases),
            ..self
        }
    }
}

/// The token stream: tokens are produced eagerly into the tokenizer's reused
/// buffer, then handed out one by one.
pub struct BioTokenStream<'a> {
    tokens: &'a mut [Token],
    next: usize,
}

impl Tokenizer for BioTokenizer {
    type TokenStream<'a> = BioTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> BioTokenStream<'a> {
        // Overwrites the tokens of the previous text, reusing their buffers.
        let stem = match (self.stem, &self.only) {
            (false, _) => Stemming::Off,
            (true, None) => Stemming::On,
            (true, Some(heads)) => Stemming::Only(heads),
        };
        let mut len = analyze_stemming(text, stem, &mut self.tokens, &mut self.folded);
        if let Some(p) = self.phrases {
            len = p.mark(&mut self.tokens, len);
        }
        // Spare tokens beyond SPARE_TOKENS are let go: a tokenizer lives per
        // field and indexing thread, and one long description would
        // otherwise keep its tens of thousands of strings for the build.
        self.tokens.truncate(len.max(SPARE_TOKENS));
        BioTokenStream {
            tokens: &mut self.tokens[..len],
            next: 0,
        }
    }
}

impl TokenStream for BioTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// Register both analyzers on an index to write it: [`BIO_STEM`] marks the
/// built-in vocabulary's phrases. An index is only written to by a build
/// with its own build key, which includes this set (`index::build`).
pub fn register(index: &tantivy::Index) {
    let m = index.tokenizers();
    m.register(BIO, TextAnalyzer::from(BioTokenizer::plain()));
    m.register(
        BIO_STEM,
        TextAnalyzer::from(BioTokenizer::stemming().with_phrases(PhraseSet::builtin())),
    );
}

/// Register both analyzers on an index to search it: without phrase
/// tokens, which searching never tokenizes (queries analyze their words
/// with [`analyze_positions`], snippets with [`for_snippets`]), and whose
/// set took a one-shot query on S ~0.6 ms to compile (2.9 → 2.3 ms).
pub fn register_for_reading(index: &tantivy::Index) {
    let m = index.tokenizers();
    m.register(BIO, TextAnalyzer::from(BioTokenizer::plain()));
    m.register(BIO_STEM, TextAnalyzer::from(BioTokenizer::stemming()));
}

/// The analyzer to find a field's query words in a stored text with: the
/// field's own, less phrase tokens (they are not words, and they would come
/// out of offset order), stemming only the words that start with one of
/// `stem_heads` ([`Stemming::Only`]: the query terms' [`Needles`] heads).
/// The tokens that can match a query term, and every token's offsets, are
/// those of the field's own analyzer.
///
/// [`Needles`]: crate::search::needles::Needles
pub fn for_snippets(
    index: &tantivy::Index,
    field: tantivy::schema::Field,
    stem_heads: &[String],
) -> tantivy::Result<TextAnalyzer> {
    let schema = index.schema();
    let name = match schema.get_field_entry(field).field_type() {
        tantivy::schema::FieldType::Str(o) => {
            o.get_indexing_options().map(|i| i.tokenizer().to_string())
        }
        _ => None,
    };
    Ok(match name.as_deref() {
        Some(BIO_STEM) => TextAnalyzer::from(BioTokenizer {
            only: Some(stem_heads.into()),
            ..BioTokenizer::stemming()
        }),
        Some(BIO) => TextAnalyzer::from(BioTokenizer::plain()),
        _ => index.tokenizer_for_field(field)?,
    })
}
