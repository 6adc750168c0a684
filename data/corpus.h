// The training corpus: UTF-8 text files (one book each) loaded, checked and normalised, then split per
// book into training and validation text. This is the first stage of the pipeline:
//   corpus files -> Corpus -> split_documents -> tokenizer (tokenizer.h) -> BatchLoader (batches.h).
// The default books (Afanasyev, Grimm, Andersen) come from Project Gutenberg; `bayun corpus fetch`
// downloads them (or copies a local copy) into data/corpus/, which git ignores. See docs/DATA.md.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bayun {

struct Document {
    std::string name;  // the file path it was read from
    std::string text;  // valid UTF-8, LF line endings, no BOM
};

struct Corpus {
    std::vector<Document> documents;  // in the order given; a directory's files sorted by name
    size_t bytes() const;             // total UTF-8 bytes of all documents
};

// Loads files and/or directories (every *.txt directly inside, sorted by name). Errors (bayun::Error,
// place "corpus"): a missing path, a directory without .txt files, a file that cannot be read,
// invalid UTF-8 (names the file, line and byte offset), an empty file, an empty list.
// A UTF-8 BOM is dropped and CRLF (or a lone CR) becomes LF.
Corpus load_corpus(const std::vector<std::string>& paths);

// Checks and normalises one file's bytes the way load_corpus does; `name` is used in error messages.
std::string normalise_text(std::string_view raw, const std::string& name);

// Where the corpus lives when no path is given, first match wins:
//   1. $BAYUN_CORPUS (must be a directory or file that exists);
//   2. data/corpus under the repository root, if it holds .txt files (written by `bayun corpus fetch`);
//   3. ../shared/corpus next to the repository root.
// The repository root is found from the current directory, the executable's directory (so both the
// repository root and build/ work) and the source directory bayun was built from. Throws a bayun::Error
// with a hint (`bayun corpus fetch`) when none exists.
std::string default_corpus_dir();

// The repository root (the directory with CMakeLists.txt and data/corpus.h) as found above, or "" if none.
std::string find_repo_root();

// Training and validation text of one document: the last `val_fraction` of every book is validation,
// so each book appears in both. The cut is moved to the nearest line boundary (within 1% of the book,
// at most 2 KiB away), and otherwise to a code point boundary, so both halves stay valid UTF-8.
struct Split {
    std::string train, val;
};
std::vector<Split> split_documents(const Corpus& corpus, double val_fraction);

// Strips a Project Gutenberg plain-text download down to the book (the rules of shared/corpus/SOURCES.md):
// everything up to and including the `*** START OF ...` line and from the `*** END OF ...` line on is
// removed, then a closing "End of [the] Project Gutenberg['s] EBook of ..." paragraph, then blank lines at
// both ends; BOM and CRLF are normalised and the result ends with one newline.
std::string strip_gutenberg(std::string_view raw);

// The default books, by Project Gutenberg ebook number, and the file each is stored as.
struct GutenbergBook {
    int ebook;
    const char* file;
    const char* title;
};
const std::vector<GutenbergBook>& default_books();
std::string gutenberg_url(int ebook);  // the plain-text UTF-8 download

}  // namespace bayun
