// The character tokenizer: code points (not bytes), a deterministic vocabulary, clear errors for unknown
// characters, JSON save/load, and exact round trips on the whole corpus.
#include "autograd/error.h"
#include "data/corpus.h"
#include "data/tokenizer_char.h"
#include "data/utf8.h"
#include "data_testing.h"

using namespace bayun;

TEST_CASE("the char vocabulary is the distinct code points sorted by value", "[data][char]") {
    const auto a = CharTokenizer::train({"ба ab", "ё😀"});
    const auto b = CharTokenizer::train({"😀ёab", " аб"});
    const std::vector<char32_t> expected{U' ', U'a', U'b', U'а', U'б', U'ё', U'😀'};
    CHECK(a->chars() == expected);
    CHECK(b->chars() == expected);
    CHECK(a->vocab_size() == 7);
    CHECK(a->encode("аё😀") == std::vector<int32_t>{3, 5, 6});  // one id per character, not per byte
    CHECK(a->token_bytes(6) == "😀");
}

TEST_CASE("char encode then decode gives back Russian, emoji and mixed scripts", "[data][char]") {
    const std::vector<std::string> texts{"Жили-были старик со старухой.", "emoji 😀👍🏽 and ZWJ 👩‍👩‍👧",
                                         "Ἀχιλλεύς, naïve café, 中文, e\u0301"};
    const auto tokenizer = CharTokenizer::train(texts);
    for (const std::string& text : texts) CHECK(tokenizer->decode(tokenizer->encode(text)) == text);
}

TEST_CASE("char round trip is exact for every corpus book", "[data][char][corpus]") {
    const Corpus corpus = load_corpus({test::shared_corpus_dir()});
    std::vector<std::string> texts;
    for (const Document& d : corpus.documents) texts.push_back(d.text);
    const auto tokenizer = CharTokenizer::train(texts);
    CHECK(tokenizer->vocab_size() == 161);
    for (const Document& d : corpus.documents) {
        const std::vector<int32_t> ids = tokenizer->encode(d.text);
        CHECK(ids.size() == count_code_points(d.text));
        CHECK(tokenizer->decode(ids) == d.text);
    }
}

TEST_CASE("encoding a character outside the vocabulary names it", "[data][char]") {
    const auto tokenizer = CharTokenizer::train({"abc "});
    try {
        tokenizer->encode("a жж b 😀");
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()) ==
              "[tokenizer] characters are not in the char tokenizer's vocabulary (2 distinct, 3 in all): "
              "'ж' (U+0436), '😀' (U+1F600) (the vocabulary holds only characters seen in training; rephrase, "
              "or use a bpe tokenizer, which encodes any text)");
    }
    CHECK_THROWS_WITH(tokenizer->encode("\n"), ContainsSubstring("a character is not in the char tokenizer's "
                                                                 "vocabulary (1 distinct, 1 in all): U+000A"));
    CHECK_THROWS_WITH(tokenizer->decode(std::vector<int32_t>{4}), ContainsSubstring("id 4 is outside the char vocabulary [0, 4)"));
    CHECK_THROWS_WITH(tokenizer->encode("a\xFF"), ContainsSubstring("invalid UTF-8 at byte offset 1"));
}

TEST_CASE("a char tokenizer saved as JSON loads back identical", "[data][char]") {
    test::ScratchDir dir;
    const auto tokenizer = CharTokenizer::train({"Жили-были\n\t\"quotes\" 😀"});
    tokenizer->save(dir.file("tok.json"));
    CHECK_FALSE(std::filesystem::exists(dir.file("tok.json.tmp")));
    const auto loaded = Tokenizer::load(dir.file("tok.json"));
    CHECK(loaded->kind() == "char");
    CHECK(loaded->vocab_size() == tokenizer->vocab_size());
    CHECK(loaded->encode("были 😀\n") == tokenizer->encode("были 😀\n"));
    CHECK(loaded->to_json() == tokenizer->to_json());
}

TEST_CASE("loading a missing or corrupt tokenizer file is a clear error", "[data][char][bpe]") {
    test::ScratchDir dir;
    CHECK_THROWS_WITH(Tokenizer::load(dir.file("none.json")), ContainsSubstring("no such file (train one with"));
    dir.write("trunc.json", "{\"kind\": \"char\", \"chars\": [\"a\"");
    CHECK_THROWS_WITH(Tokenizer::load(dir.file("trunc.json")), ContainsSubstring("not valid JSON"));
    dir.write("kind.json", "{\"kind\": \"wordpiece\"}");
    CHECK_THROWS_WITH(Tokenizer::load(dir.file("kind.json")),
                      "[tokenizer] '" + dir.file("kind.json") + "': unknown kind \"wordpiece\" (expected \"char\" or \"bpe\")");
    dir.write("dup.json", "{\"kind\": \"char\", \"version\": 1, \"chars\": [\"b\", \"a\"]}");
    CHECK_THROWS_WITH(Tokenizer::load(dir.file("dup.json")), ContainsSubstring("not strictly ascending"));
    dir.write("nochars.json", "{\"kind\": \"char\", \"version\": 1}");
    CHECK_THROWS_WITH(Tokenizer::load(dir.file("nochars.json")), ContainsSubstring("corrupt char tokenizer JSON"));
    CHECK_THROWS_WITH(CharTokenizer::train({""}), ContainsSubstring("empty text"));
    CHECK_THROWS_WITH(Tokenizer::train("words", {"a"}, 0), ContainsSubstring("unknown tokenizer 'words'"));
}
