// The byte-level BPE tokenizer: the pre-tokenizer on many scripts, merges checked by hand, agreement with
// a plain (non-incremental) reference trainer, round trips, <|endoftext|>, JSON and the stream decoder.
#include "autograd/error.h"
#include "data/corpus.h"
#include "data/tokenizer_bpe.h"
#include "data/utf8.h"
#include "data_testing.h"

#include <map>

using namespace bayun;
using Chunks = std::vector<std::string>;
using Pair = BpeTokenizer::Pair;

namespace {
Chunks chunks_of(std::string_view text) {
    Chunks out;
    for (std::string_view c : pretokenize(text)) out.emplace_back(c);
    return out;
}

// The reference trainer, minbpe style: recount every pair before each merge. Slow but obviously right.
std::vector<Pair> reference_merges(const std::string& text, int num_merges) {
    std::map<std::string, int64_t> counts;
    for (std::string_view c : pretokenize(text)) ++counts[std::string(c)];
    std::vector<std::pair<std::vector<int32_t>, int64_t>> words;
    for (const auto& [chunk, n] : counts) words.push_back({std::vector<int32_t>(chunk.begin(), chunk.end()), n});
    for (auto& w : words)
        for (auto& id : w.first) id = static_cast<unsigned char>(static_cast<char>(id));
    std::vector<Pair> merges;
    for (int m = 0; m < num_merges; ++m) {
        std::map<Pair, int64_t> pairs;
        for (const auto& [ids, n] : words)
            for (size_t k = 0; k + 1 < ids.size(); ++k) pairs[{ids[k], ids[k + 1]}] += n;
        Pair best{-1, -1};
        int64_t best_count = 1;
        for (const auto& [p, n] : pairs)  // std::map is ordered: the first of equal counts is the smallest pair
            if (n > best_count) { best = p; best_count = n; }
        if (best.first < 0) break;
        const int32_t id = 256 + m;
        for (auto& [ids, n] : words) {
            std::vector<int32_t> merged;
            for (size_t k = 0; k < ids.size(); ++k) {
                if (k + 1 < ids.size() && Pair{ids[k], ids[k + 1]} == best) { merged.push_back(id); ++k; }
                else merged.push_back(ids[k]);
            }
            ids = merged;
        }
        merges.push_back(best);
    }
    return merges;
}

std::vector<std::string> corpus_texts() {
    std::vector<std::string> texts;
    for (const Document& d : load_corpus({test::shared_corpus_dir()}).documents) texts.push_back(d.text);
    return texts;
}
}  // namespace

TEST_CASE("the pre-tokenizer splits words, numbers, punctuation and spaces in any script", "[data][bpe]") {
    CHECK(chunks_of("Hello world") == Chunks{"Hello", " world"});
    CHECK(chunks_of("Жили-были старик со старухой.") == Chunks{"Жили", "-были", " старик", " со", " старухой", "."});
    CHECK(chunks_of("Ἀχιλλεύς καὶ naïve café") == Chunks{"Ἀχιλλεύς", " καὶ", " naïve", " café"});
    CHECK(chunks_of("cafe\u0301s") == Chunks{"cafe\u0301s"});  // a combining accent stays in its word
    CHECK(chunks_of("in 12345 years") == Chunks{"in", " ", "123", "45", " years"});
    CHECK(chunks_of("don't I’ll WE'RE") == Chunks{"don", "'t", " I", "’ll", " WE", "'RE"});
    CHECK(chunks_of("“Well,” said he — 😀😀!") == Chunks{"“Well", ",”", " said", " he", " —", " 😀😀!"});
    CHECK(chunks_of("end.\n\nNext") == Chunks{"end", ".\n\n", "Next"});
    CHECK(chunks_of("a  b") == Chunks{"a", " ", " b"});
    CHECK(chunks_of("hi   \n  x") == Chunks{"hi", "   \n", " ", " x"});
    CHECK(chunks_of("tail  ") == Chunks{"tail", "  "});
    CHECK(chunks_of("\u00A0слово\u3000中文") == Chunks{"\u00A0слово", "\u3000中文"});
    CHECK(chunks_of("").empty());
}

TEST_CASE("pre-tokenized chunks of every corpus book join back to the book", "[data][bpe][corpus]") {
    for (const std::string& text : corpus_texts()) {
        std::string joined;
        for (std::string_view c : pretokenize(text)) {
            REQUIRE_FALSE(c.empty());
            joined.append(c);
        }
        CHECK(joined == text);
    }
}

TEST_CASE("BPE on a tiny text learns the merges worked out by hand", "[data][bpe]") {
    // "aaabdaaabac" is one chunk. Pairs: aa 4, ab 2, ... -> merge (a, a) = 256: Z a b d Z a b a c.
    // Then Za 2 and ab 2 tie; the smaller pair (97, 98) wins -> 257: Z Y d Z Y a c. Then ZY 2 -> 258.
    const auto tokenizer = BpeTokenizer::train({"aaabdaaabac"}, 259, false);
    CHECK(tokenizer->merges() == std::vector<Pair>{{97, 97}, {97, 98}, {256, 257}});
    CHECK(tokenizer->token_bytes(258) == "aaab");
    CHECK(tokenizer->encode("aaabdaaabac") == std::vector<int32_t>{258, 'd', 258, 'a', 'c'});
    CHECK(tokenizer->encode("aaaa") == std::vector<int32_t>{256, 256});

    // Words keep their leading space: "ab", " ab", " ab" -> (a, b) 3 times, then (' ', ab) twice.
    const auto spaced = BpeTokenizer::train({"ab ab ab"}, 260, false);
    CHECK(spaced->merges() == std::vector<Pair>{{'a', 'b'}, {' ', 256}});  // stops: no pair left twice
    CHECK(spaced->vocab_size() == 258);
    CHECK(spaced->encode(" ab ab") == std::vector<int32_t>{257, 257});
}

TEST_CASE("incremental BPE training learns the same merges as the plain reference trainer", "[data][bpe]") {
    const std::string text = corpus_texts()[3].substr(0, 40000);  // the start of Grimm
    const auto tokenizer = BpeTokenizer::train({text}, 256 + 120, false);
    CHECK(tokenizer->merges() == reference_merges(text, 120));
    CHECK(BpeTokenizer::train({text}, 256 + 120, false)->merges() == tokenizer->merges());  // deterministic
}

TEST_CASE("byte-level BPE round-trips Russian, emoji and mixed scripts it never saw", "[data][bpe]") {
    const auto tokenizer = BpeTokenizer::train({"the cat sat on the mat, the end"}, 300);
    for (const std::string text : {"Жили-были старик со старухой.", "emoji 😀👍🏽 and ZWJ 👩‍👩‍👧",
                                   "Ἀχιλλεύς, naïve café, 中文, e\u0301, 12345", "", "\n\n  \t"}) {
        CHECK(tokenizer->decode(tokenizer->encode(text)) == text);
    }
    CHECK(tokenizer->encode("ж") == std::vector<int32_t>{0xD0, 0xB6});  // unseen: falls back to bytes
    CHECK_THROWS_WITH(tokenizer->encode("ok\xC3"), ContainsSubstring("invalid UTF-8 at byte offset 2"));
    CHECK_THROWS_WITH(tokenizer->decode(std::vector<int32_t>{1, 9999}), ContainsSubstring("id 9999 is outside"));
}

TEST_CASE("BPE trained on the corpus round-trips every book exactly", "[data][bpe][corpus]") {
    const std::vector<std::string> texts = corpus_texts();
    const auto tokenizer = BpeTokenizer::train(texts, 512);
    REQUIRE(tokenizer->vocab_size() == 512);
    CHECK(tokenizer->token_bytes(511) == "<|endoftext|>");
    size_t tokens = 0;
    for (const std::string& text : texts) {
        const std::vector<int32_t> ids = tokenizer->encode(text);
        tokens += ids.size();
        CHECK(tokenizer->decode(ids) == text);
    }
    CHECK(tokens * 2 < 2143720);  // at least two bytes per token on average
    CHECK(tokenizer->decode(tokenizer->encode("Жили-были 😀")) == "Жили-были 😀");
}

TEST_CASE("<|endoftext|> separates documents and is encoded when written literally", "[data][bpe]") {
    const auto tokenizer = BpeTokenizer::train({"one tale", "another tale"}, 270);
    const int32_t eot = *tokenizer->endoftext_id();
    CHECK(eot == tokenizer->vocab_size() - 1);
    const auto ids = encode_documents(*tokenizer, {"one", "two"});
    CHECK(std::count(ids.begin(), ids.end(), eot) == 1);
    CHECK(tokenizer->decode(ids) == "one<|endoftext|>two");
    CHECK(tokenizer->encode("a<|endoftext|>b") == std::vector<int32_t>{'a', eot, 'b'});

    const auto plain = BpeTokenizer::train({"one tale"}, 270, false);
    CHECK_FALSE(plain->endoftext_id());
    CHECK(plain->decode(plain->encode("a<|endoftext|>b")) == "a<|endoftext|>b");
    CHECK_THROWS_WITH(BpeTokenizer::train({"x"}, 256), ContainsSubstring("bpe --vocab-size must be in [257,"));
}

TEST_CASE("a BPE tokenizer saved as JSON loads back and encodes identically", "[data][bpe]") {
    test::ScratchDir dir;
    const auto tokenizer = BpeTokenizer::train({corpus_texts()[2].substr(0, 20000)}, 400);
    tokenizer->save(dir.file("bpe.json"));
    const auto loaded = Tokenizer::load(dir.file("bpe.json"));
    CHECK(loaded->kind() == "bpe");
    CHECK(loaded->vocab_size() == 400);
    const std::string text = "The Snow Queen — “Жили-были” 😀";
    CHECK(loaded->encode(text) == tokenizer->encode(text));
    CHECK(loaded->endoftext_id() == tokenizer->endoftext_id());

    auto j = tokenizer->to_json();
    j["merges"][3] = {300, 1};  // refers to a token that does not exist yet
    CHECK_THROWS_WITH(Tokenizer::from_json(j), ContainsSubstring("merge 3 joins (300, 1), but only tokens below 259"));
    j = tokenizer->to_json();
    j["special"]["<|endoftext|>"] = 5;
    CHECK_THROWS_WITH(Tokenizer::from_json(j), ContainsSubstring("special token"));
}

TEST_CASE("the stream decoder holds back an incomplete character and never prints a broken one", "[data][bpe]") {
    const auto tokenizer = BpeTokenizer::train({"plain ascii text"}, 260);
    const std::string text = "жx😀 é!";
    const std::vector<int32_t> ids = tokenizer->encode(text);  // byte tokens: characters span several ids
    StreamDecoder decoder(*tokenizer);
    std::string out;
    std::vector<std::string> pieces;
    for (const int32_t id : ids) {
        const std::string piece = decoder.push(id);
        CHECK(is_valid_utf8(piece));
        pieces.push_back(piece);
        out += piece;
    }
    out += decoder.flush();
    CHECK(out == text);
    CHECK(pieces[0].empty());   // 0xD0: the first half of 'ж'
    CHECK(pieces[1] == "ж");

    // Bytes that can never be valid come out as U+FFFD; so does an unfinished character at the end.
    StreamDecoder broken(*tokenizer);
    CHECK(broken.push(0xFF) == "\uFFFD");
    CHECK(broken.push(0xF0).empty());
    CHECK(broken.pending_bytes() == 1);
    CHECK(broken.flush() == "\uFFFD");
}
