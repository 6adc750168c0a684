// BpeTokenizer (see tokenizer_bpe.h): the pre-tokenizer, incremental BPE training, and encoding with a
// per-chunk cache. Reading order: pretokenize -> train -> encode_chunk -> encode/decode -> JSON.
#include "data/tokenizer_bpe.h"

#include "autograd/error.h"
#include "data/utf8.h"

#include <algorithm>
#include <queue>

namespace bayun {

namespace {
constexpr int kByteTokens = 256;
constexpr size_t kMaxCachedChunk = 256;     // bytes; longer chunks are rare and not worth caching
constexpr size_t kMaxCacheEntries = 1 << 18;

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b); }
char32_t ascii_lower(char32_t c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }
}  // namespace

// ---------------------------------------------------------------------------------------------------
// Pre-tokenizer: at each position, take the first rule of the pattern (tokenizer_bpe.h) that matches.
std::vector<std::string_view> pretokenize(std::string_view text) {
    // Decode once: code point, class and byte offset of every character.
    std::vector<char32_t> cp;
    std::vector<CharClass> cls;
    std::vector<size_t> off;
    cp.reserve(text.size()); cls.reserve(text.size()); off.reserve(text.size() + 1);
    for (size_t pos = 0; pos < text.size();) {
        const Utf8Step step = utf8_step(text, pos);
        const char32_t c = step.status == Utf8Status::Ok ? step.code : U'\uFFFD';
        cp.push_back(c);
        cls.push_back(char_class(c));
        off.push_back(pos);
        pos += step.status == Utf8Status::Ok ? step.length : 1;
    }
    const size_t n = cp.size();
    off.push_back(text.size());

    const auto is = [&](size_t k, CharClass c) { return k < n && cls[k] == c; };
    const auto is_space = [&](size_t k) { return is(k, CharClass::Space) || is(k, CharClass::Newline); };

    std::vector<std::string_view> chunks;
    size_t i = 0;
    while (i < n) {
        size_t j = i;  // the chunk is [i, j)
        const CharClass c = cls[i];
        if ((cp[i] == U'\'' || cp[i] == U'\u2019') && i + 1 < n &&
            (ascii_lower(cp[i + 1]) == 's' || ascii_lower(cp[i + 1]) == 'd' || ascii_lower(cp[i + 1]) == 'm' ||
             ascii_lower(cp[i + 1]) == 't')) {
            j = i + 2;                                                   // 's 'd 'm 't
        } else if ((cp[i] == U'\'' || cp[i] == U'\u2019') && i + 2 < n &&
                   ((ascii_lower(cp[i + 1]) == 'l' && ascii_lower(cp[i + 2]) == 'l') ||
                    (ascii_lower(cp[i + 1]) == 'v' && ascii_lower(cp[i + 2]) == 'e') ||
                    (ascii_lower(cp[i + 1]) == 'r' && ascii_lower(cp[i + 2]) == 'e'))) {
            j = i + 3;                                                   // 'll 've 're
        } else if (c == CharClass::Letter ||
                   (c != CharClass::Number && c != CharClass::Newline && is(i + 1, CharClass::Letter))) {
            j = i + 1;                                                   // [^\n\p{L}\p{N}]?\p{L}+
            while (is(j, CharClass::Letter)) ++j;
        } else if (c == CharClass::Number) {
            while (j - i < 3 && is(j, CharClass::Number)) ++j;           // \p{N}{1,3}
        } else if (c == CharClass::Other || (cp[i] == U' ' && is(i + 1, CharClass::Other))) {
            j = (c == CharClass::Other) ? i : i + 1;                     // " "?[^\s\p{L}\p{N}]+\n*
            while (is(j, CharClass::Other)) ++j;
            while (is(j, CharClass::Newline)) ++j;
        } else {
            size_t run = i;                                              // whitespace: [i, run)
            while (is_space(run)) ++run;
            size_t last_newline = n;
            for (size_t k = i; k < run; ++k)
                if (cls[k] == CharClass::Newline) last_newline = k;
            if (last_newline != n) j = last_newline + 1;                 // \s*\n
            else if (run == n || run - i == 1) j = run;                  // \s+ (at the end, or one space)
            else j = run - 1;                                            // \s+(?!\S): leave one space
        }
        chunks.push_back(text.substr(off[i], off[j] - off[i]));
        i = j;
    }
    return chunks;
}

// ---------------------------------------------------------------------------------------------------
BpeTokenizer::BpeTokenizer(std::vector<Pair> merges, bool with_endoftext)
    : merges_(std::move(merges)), with_endoftext_(with_endoftext) {
    vocab_.reserve(kByteTokens + merges_.size() + 1);
    for (int b = 0; b < kByteTokens; ++b) vocab_.emplace_back(1, static_cast<char>(b));
    for (size_t i = 0; i < merges_.size(); ++i) {
        const auto [a, b] = merges_[i];
        const int32_t id = static_cast<int32_t>(kByteTokens + i);
        if (a < 0 || b < 0 || a >= id || b >= id)
            fail("tokenizer", "merge {} joins ({}, {}), but only tokens below {} exist at that point (corrupt file?)",
                 i, a, b, id);
        if (!rank_.emplace(pair_key(a, b), id).second)
            fail("tokenizer", "merge {} repeats the pair ({}, {}) (corrupt file?)", i, a, b);
        vocab_.push_back(vocab_[a] + vocab_[b]);
    }
    if (with_endoftext_) vocab_.emplace_back(kEndOfText);
}

int BpeTokenizer::vocab_size() const { return static_cast<int>(vocab_.size()); }

std::optional<int32_t> BpeTokenizer::endoftext_id() const {
    if (!with_endoftext_) return std::nullopt;
    return static_cast<int32_t>(vocab_.size() - 1);
}

namespace {
// Calls f(piece, is_special) for the text between <|endoftext|> markers and for each marker.
template <typename F>
void split_special(std::string_view text, bool with_endoftext, F&& f) {
    const std::string_view marker = BpeTokenizer::kEndOfText;
    size_t start = 0;
    while (with_endoftext) {
        const size_t at = text.find(marker, start);
        if (at == std::string_view::npos) break;
        if (at > start) f(text.substr(start, at - start), false);
        f(marker, true);
        start = at + marker.size();
    }
    if (start < text.size()) f(text.substr(start), false);
}

// Training state: every distinct chunk once, with how often it occurs.
struct Word {
    std::vector<int32_t> ids;
    int64_t count;
};

// Max-heap order: the highest count first; on a tie, the smallest pair (a, b), so training is deterministic.
struct HeapEntry {
    int64_t count;
    uint64_t key;
    bool operator<(const HeapEntry& o) const { return count != o.count ? count < o.count : key > o.key; }
};
}  // namespace

std::unique_ptr<BpeTokenizer> BpeTokenizer::train(const std::vector<std::string>& texts, int vocab_size,
                                                  bool with_endoftext) {
    const int minimum = kByteTokens + (with_endoftext ? 1 : 0);
    if (vocab_size < minimum || vocab_size > (1 << 20))
        fail("tokenizer", "bpe --vocab-size must be in [{}, {}] (256 byte tokens{}{}), got {}", minimum, 1 << 20,
             with_endoftext ? " + <|endoftext|>" : "", " + merges", vocab_size);
    const int num_merges = vocab_size - minimum;

    // 1. Pre-tokenize and count distinct chunks: the corpus has ~400k chunks but only ~30k distinct ones.
    std::unordered_map<std::string_view, int64_t> chunk_counts;
    for (const std::string& text : texts) {
        if (const auto bad = find_invalid_utf8(text))
            fail("tokenizer", "training text has invalid UTF-8 at byte offset {}", *bad);
        split_special(text, with_endoftext, [&](std::string_view piece, bool special) {
            if (!special)
                for (std::string_view chunk : pretokenize(piece)) ++chunk_counts[chunk];
        });
    }
    std::vector<Word> words;
    words.reserve(chunk_counts.size());
    for (const auto& [chunk, count] : chunk_counts) {
        Word w{{}, count};
        for (const char ch : chunk) w.ids.push_back(static_cast<unsigned char>(ch));
        words.push_back(std::move(w));
    }

    // 2. Count every adjacent pair (weighted by the word's count) and remember which words hold it.
    std::unordered_map<uint64_t, int64_t> pair_counts;
    std::unordered_map<uint64_t, std::vector<int32_t>> where;
    for (size_t w = 0; w < words.size(); ++w) {
        const auto& ids = words[w].ids;
        for (size_t k = 0; k + 1 < ids.size(); ++k) {
            const uint64_t key = pair_key(ids[k], ids[k + 1]);
            pair_counts[key] += words[w].count;
            where[key].push_back(static_cast<int32_t>(w));
        }
    }
    std::priority_queue<HeapEntry> heap;
    for (const auto& [key, count] : pair_counts) heap.push({count, key});

    // 3. Merge the most frequent pair, update only the words that contain it, repeat. Heap entries
    //    whose count is out of date are skipped when they come to the top ("lazy deletion").
    std::vector<Pair> merges;
    std::unordered_map<uint64_t, int64_t> delta;
    while (static_cast<int>(merges.size()) < num_merges) {
        while (!heap.empty()) {
            const HeapEntry top = heap.top();
            const auto it = pair_counts.find(top.key);
            if (it != pair_counts.end() && it->second == top.count) break;
            heap.pop();
        }
        if (heap.empty() || heap.top().count < 2) break;  // no pair occurs twice: nothing left to learn
        const uint64_t best = heap.top().key;
        heap.pop();
        const int32_t a = static_cast<int32_t>(best >> 32), b = static_cast<int32_t>(best & 0xFFFFFFFFu);
        const int32_t merged = static_cast<int32_t>(kByteTokens + merges.size());
        merges.emplace_back(a, b);

        std::vector<int32_t> holders = std::move(where[best]);
        where.erase(best);
        std::sort(holders.begin(), holders.end());
        holders.erase(std::unique(holders.begin(), holders.end()), holders.end());
        delta.clear();
        for (const int32_t w : holders) {
            std::vector<int32_t>& ids = words[w].ids;
            const int64_t count = words[w].count;
            // Remove the word's old pairs, merge (a, b) left to right, add its new pairs back.
            for (size_t k = 0; k + 1 < ids.size(); ++k) delta[pair_key(ids[k], ids[k + 1])] -= count;
            size_t out = 0;
            for (size_t k = 0; k < ids.size(); ++k) {
                if (k + 1 < ids.size() && ids[k] == a && ids[k + 1] == b) {
                    ids[out++] = merged;
                    ++k;
                } else {
                    ids[out++] = ids[k];
                }
            }
            ids.resize(out);
            for (size_t k = 0; k + 1 < ids.size(); ++k) {
                const uint64_t key = pair_key(ids[k], ids[k + 1]);
                delta[key] += count;
                if (ids[k] == merged || ids[k + 1] == merged) where[key].push_back(w);
            }
        }
        for (const auto& [key, d] : delta) {
            if (d == 0) continue;
            int64_t& c = pair_counts[key];
            c += d;
            BAYUN_ASSERT(c >= 0, "bpe pair count went negative");
            if (c == 0) pair_counts.erase(key);
            else heap.push({c, key});
        }
        pair_counts.erase(best);
    }
    return std::make_unique<BpeTokenizer>(std::move(merges), with_endoftext);
}

// ---------------------------------------------------------------------------------------------------
std::vector<int32_t> BpeTokenizer::encode_chunk(std::string_view chunk) const {
    std::vector<int32_t> ids(chunk.size());
    for (size_t k = 0; k < chunk.size(); ++k) ids[k] = static_cast<unsigned char>(chunk[k]);
    // Repeatedly apply the earliest-learned merge present in the chunk (lowest merged id), everywhere.
    while (ids.size() >= 2) {
        int32_t best = -1;
        for (size_t k = 0; k + 1 < ids.size(); ++k) {
            const auto it = rank_.find(pair_key(ids[k], ids[k + 1]));
            if (it != rank_.end() && (best < 0 || it->second < best)) best = it->second;
        }
        if (best < 0) break;
        const auto [a, b] = merges_[best - kByteTokens];
        size_t out = 0;
        for (size_t k = 0; k < ids.size(); ++k) {
            if (k + 1 < ids.size() && ids[k] == a && ids[k + 1] == b) {
                ids[out++] = best;
                ++k;
            } else {
                ids[out++] = ids[k];
            }
        }
        ids.resize(out);
    }
    return ids;
}

void BpeTokenizer::encode_ordinary(std::string_view text, std::vector<int32_t>& out) const {
    for (std::string_view chunk : pretokenize(text)) {
        if (chunk.size() > kMaxCachedChunk) {
            const auto ids = encode_chunk(chunk);
            out.insert(out.end(), ids.begin(), ids.end());
            continue;
        }
        auto it = cache_.find(std::string(chunk));
        if (it == cache_.end()) {
            if (cache_.size() >= kMaxCacheEntries) cache_.clear();
            it = cache_.emplace(std::string(chunk), encode_chunk(chunk)).first;
        }
        out.insert(out.end(), it->second.begin(), it->second.end());
    }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
    if (const auto bad = find_invalid_utf8(text))
        fail("tokenizer", "text has invalid UTF-8 at byte offset {} (byte 0x{:02X})", *bad,
             static_cast<unsigned char>(text[*bad]));
    std::vector<int32_t> ids;
    ids.reserve(text.size() / 3 + 16);
    const std::lock_guard<std::mutex> lock(cache_mutex_);
    split_special(text, with_endoftext_, [&](std::string_view piece, bool special) {
        if (special) ids.push_back(*endoftext_id());
        else encode_ordinary(piece, ids);
    });
    return ids;
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
    std::string out;
    out.reserve(ids.size() * 4);
    for (const int32_t id : ids) out += token_bytes(id);
    return out;
}

std::string BpeTokenizer::token_bytes(int32_t id) const {
    if (id < 0 || id >= vocab_size()) fail("tokenizer", "id {} is outside the bpe vocabulary [0, {})", id, vocab_size());
    return vocab_[id];
}

// ---------------------------------------------------------------------------------------------------
nlohmann::json BpeTokenizer::to_json() const {
    nlohmann::json merges = nlohmann::json::array();
    for (const auto& [a, b] : merges_) merges.push_back({a, b});
    nlohmann::json special = nlohmann::json::object();
    if (with_endoftext_) special[kEndOfText] = *endoftext_id();
    nlohmann::json tokens = nlohmann::json::array();
    for (const std::string& bytes : vocab_) tokens.push_back(printable_bytes(bytes));
    return {{"kind", "bpe"},       {"version", 1},      {"pretokenizer", "gpt4-unicode"},
            {"vocab_size", vocab_size()}, {"merges", merges}, {"special", special},
            {"tokens", tokens}};
}

std::unique_ptr<BpeTokenizer> BpeTokenizer::from_json(const nlohmann::json& j) {
    if (j.value("version", 0) != 1) fail("tokenizer", "bpe tokenizer JSON version {} is not supported (expected 1)", j.value("version", 0));
    if (j.value("pretokenizer", std::string("gpt4-unicode")) != "gpt4-unicode")
        fail("tokenizer", "unknown pretokenizer \"{}\" (expected \"gpt4-unicode\")", j.value("pretokenizer", std::string()));
    std::vector<Pair> merges;
    for (const auto& m : j.at("merges")) {
        if (!m.is_array() || m.size() != 2) fail("tokenizer", "merge {} is not a pair [a, b] (corrupt file?)", merges.size());
        merges.emplace_back(m[0].get<int32_t>(), m[1].get<int32_t>());
    }
    bool with_endoftext = false;
    if (j.contains("special")) {
        for (const auto& [name, id] : j.at("special").items()) {
            const int32_t expected = static_cast<int32_t>(kByteTokens + merges.size());
            if (name != kEndOfText || id.get<int32_t>() != expected)
                fail("tokenizer", "special token \"{}\" = {} is not supported (only {} = {})", name, id.dump(),
                     kEndOfText, expected);
            with_endoftext = true;
        }
    }
    auto tokenizer = std::make_unique<BpeTokenizer>(std::move(merges), with_endoftext);
    if (j.contains("vocab_size") && j["vocab_size"].get<int>() != tokenizer->vocab_size())
        fail("tokenizer", "vocab_size {} does not match the merges ({} tokens) (corrupt file?)",
             j["vocab_size"].get<int>(), tokenizer->vocab_size());
    return tokenizer;
}

}  // namespace bayun
