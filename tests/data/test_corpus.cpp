// Loading and checking corpus files, finding the default corpus, the per-book train/validation split,
// and stripping Project Gutenberg's header and footer.
#include "autograd/error.h"
#include "data/corpus.h"
#include "data/utf8.h"
#include "data_testing.h"

#include <cstdlib>
#include <filesystem>

using namespace bayun;
using bayun::test::ScratchDir;

namespace {
// Sets an environment variable for the length of a scope and restores it afterwards.
class EnvGuard {
public:
    EnvGuard(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    ~EnvGuard() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};
}  // namespace

TEST_CASE("a directory loads its .txt files sorted by name, and files load in the order given", "[data][corpus]") {
    ScratchDir dir;
    dir.write("b.txt", "second\n");
    dir.write("a.txt", "first\n");
    dir.write("notes.md", "not a book\n");
    const Corpus corpus = load_corpus({dir.str()});
    REQUIRE(corpus.documents.size() == 2);
    CHECK(corpus.documents[0].name == dir.file("a.txt"));
    CHECK(corpus.documents[1].text == "second\n");
    CHECK(corpus.bytes() == 13);

    const Corpus files = load_corpus({dir.file("b.txt"), dir.file("notes.md")});
    REQUIRE(files.documents.size() == 2);
    CHECK(files.documents[0].text == "second\n");
}

TEST_CASE("CRLF and lone CR become LF and a BOM is dropped", "[data][corpus]") {
    ScratchDir dir;
    dir.write("t.txt", "\xEF\xBB\xBFЖили\r\nбыли\rстарик\n");
    CHECK(load_corpus({dir.str()}).documents[0].text == "Жили\nбыли\nстарик\n");
}

TEST_CASE("invalid UTF-8 is an error naming the file, line and byte offset", "[data][corpus]") {
    ScratchDir dir;
    const std::string path = dir.write("bad.txt", "line one\nline two\xFF\n");
    try {
        load_corpus({path});
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) ==
              "[corpus] '" + path + "': invalid UTF-8 at line 2, column 9 (byte offset 17, byte 0xFF) "
              "(is the file in another encoding? save it as UTF-8)");
    }
    dir.write("latin1.txt", "caf\xE9\n");  // Latin-1 é
    CHECK_THROWS_WITH(load_corpus({dir.file("latin1.txt")}), ContainsSubstring("line 1, column 4 (byte offset 3"));
}

TEST_CASE("empty and missing corpora are errors with a hint", "[data][corpus]") {
    ScratchDir dir;
    CHECK_THROWS_WITH(load_corpus({dir.str()}), ContainsSubstring("has no .txt files"));
    dir.write("empty.txt", "");
    CHECK_THROWS_WITH(load_corpus({dir.str()}), ContainsSubstring("empty.txt': the file is empty"));
    CHECK_THROWS_WITH(load_corpus({dir.file("missing.txt")}), ContainsSubstring("no such file or directory"));
    CHECK_THROWS_WITH(load_corpus({}), ContainsSubstring("no corpus files given"));
}

TEST_CASE("the shared corpus loads as four valid books with the sizes in SOURCES.md", "[data][corpus]") {
    const Corpus corpus = load_corpus({test::shared_corpus_dir()});
    REQUIRE(corpus.documents.size() == 4);
    CHECK(corpus.bytes() == 2143720);
    CHECK(std::filesystem::path(corpus.documents[0].name).filename() == "afanasyev-magnus-en.txt");
    CHECK(count_code_points(corpus.documents[0].text) == 549676);
    CHECK(count_code_points(corpus.documents[3].text) == 520793);  // grimm
}

TEST_CASE("the default corpus comes from BAYUN_CORPUS, else a corpus next to the repository", "[data][corpus]") {
    ScratchDir dir;
    {
        EnvGuard env("BAYUN_CORPUS", dir.str().c_str());
        CHECK(default_corpus_dir() == dir.str());
    }
    {
        EnvGuard env("BAYUN_CORPUS", (dir.str() + "/nope").c_str());
        CHECK_THROWS_WITH(default_corpus_dir(), ContainsSubstring("does not exist"));
    }
    EnvGuard env("BAYUN_CORPUS", nullptr);
    const std::string found = default_corpus_dir();
    CHECK_FALSE(load_corpus({found}).documents.empty());
    CHECK(find_repo_root() == std::filesystem::weakly_canonical(BAYUN_SOURCE_DIR).string());
}

TEST_CASE("every book is split into training and validation text at a line boundary", "[data][corpus]") {
    const Corpus corpus = load_corpus({test::shared_corpus_dir()});
    const auto splits = split_documents(corpus, 0.1);
    REQUIRE(splits.size() == corpus.documents.size());
    for (size_t i = 0; i < splits.size(); ++i) {
        const std::string& text = corpus.documents[i].text;
        CHECK(splits[i].train + splits[i].val == text);
        const double fraction = static_cast<double>(splits[i].val.size()) / static_cast<double>(text.size());
        CHECK_THAT(fraction, WithinAbs(0.1, 0.01));
        CHECK(splits[i].train.back() == '\n');
        CHECK(is_valid_utf8(splits[i].val));
    }
    const auto none = split_documents(corpus, 0.0);
    CHECK(none[0].val.empty());
    CHECK_THROWS_WITH(split_documents(corpus, 1.0), ContainsSubstring("--val-fraction must be in [0, 1)"));
}

TEST_CASE("a split without newlines nearby cuts at a code point boundary", "[data][corpus]") {
    std::string russian;
    for (int i = 0; i < 50; ++i) russian += "жж";  // 200 bytes, two bytes per character, no newline
    const Corpus corpus{{{"ru.txt", russian}}};
    for (const double fraction : {0.1, 0.33, 0.5, 0.77}) {
        const Split s = split_documents(corpus, fraction)[0];
        CHECK(is_valid_utf8(s.train));
        CHECK(is_valid_utf8(s.val));
        CHECK(s.train + s.val == russian);
        CHECK_FALSE(s.val.empty());
    }
}

TEST_CASE("Project Gutenberg's header, footer and closing line are stripped", "[data][corpus]") {
    const std::string raw =
        "\xEF\xBB\xBFThe Project Gutenberg eBook of Tales\r\n\r\nRelease date: 2020\r\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK TALES ***\r\n\r\n\r\n"
        "TALES\r\n\r\nOnce upon a time — “said he” — in Русь.\r\n\r\n"
        "End of the Project Gutenberg EBook of Tales, by\r\nA. N. Afanasyev\r\n\r\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK TALES ***\r\n\r\nUpdated editions will replace...\r\n";
    CHECK(strip_gutenberg(raw) == "TALES\n\nOnce upon a time — “said he” — in Русь.\n");

    // Older releases say "THIS PROJECT GUTENBERG EBOOK" and have no closing line; text without markers
    // is kept whole.
    CHECK(strip_gutenberg("head\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\nbody\n*** END OF THIS X ***\n") ==
          "body\n");
    CHECK(strip_gutenberg("\n\nplain text\nstays\n\n") == "plain text\nstays\n");
}

TEST_CASE("stripping leaves the already-clean corpus books unchanged", "[data][corpus]") {
    const Corpus corpus = load_corpus({test::shared_corpus_dir()});
    for (const Document& doc : corpus.documents) CHECK(strip_gutenberg(doc.text) == doc.text);
    REQUIRE(default_books().size() == 4);
    CHECK(default_books()[0].ebook == 62509);
    CHECK(gutenberg_url(2591) == "https://www.gutenberg.org/cache/epub/2591/pg2591.txt");
}
