// BpeTokenizer: byte-level byte-pair encoding, the tokenizer of GPT-2 and GPT-4 (Sennrich et al. 2016;
// Karpathy's minbpe). Every text is first split into chunks by a pre-tokenizer (words with their leading
// space, numbers of up to three digits, punctuation runs, whitespace); each chunk starts as its UTF-8
// bytes (ids 0..255) and the learned merges are applied in the order they were learned: merge i turns
// the pair (a, b) into the new token 256 + i. Any text can be encoded, in any script.
// Training counts each distinct chunk once (with its frequency) and keeps pair counts up to date
// incrementally after each merge, so 4096 tokens on the 2 MB corpus take seconds.
#pragma once

#include "data/tokenizer.h"

#include <mutex>
#include <unordered_map>
#include <utility>

namespace bayun {

// The pre-tokenizer: GPT-4's split pattern (cl100k_base) written out by hand over Unicode classes
// (utf8.h char_class), so it works for any script. Chunks, in order of preference at each position:
//   's 't 'll 've 're 'm 'd     contractions, after ' or ’ (any case)
//   [^\n\p{L}\p{N}]?\p{L}+      a word with at most one leading non-letter: " царь", "“Well"
//   \p{N}{1,3}                  numbers in groups of up to three digits
//   " "?[^\s\p{L}\p{N}]+\n*     punctuation and symbols, with the newlines after them
//   \s*\n                       whitespace up to the last newline
//   \s+(?!\S) | \s+             other whitespace, leaving one space for the word that follows
// One deliberate difference: combining marks (category M) count as letters, so a decomposed "й" stays
// inside its word. The chunks concatenate back to the input exactly.
std::vector<std::string_view> pretokenize(std::string_view text);

class BpeTokenizer final : public Tokenizer {
public:
    using Pair = std::pair<int32_t, int32_t>;
    static constexpr const char* kEndOfText = "<|endoftext|>";

    // merges[i] = (a, b) makes token 256 + i; with_endoftext adds <|endoftext|> as the last id.
    BpeTokenizer(std::vector<Pair> merges, bool with_endoftext);
    // Learns vocab_size - 256 (- 1 with <|endoftext|>) merges from `texts`; stops early when no pair
    // occurs twice. Deterministic: ties between pair counts go to the smallest pair (a, b).
    static std::unique_ptr<BpeTokenizer> train(const std::vector<std::string>& texts, int vocab_size,
                                               bool with_endoftext = true);

    std::string kind() const override { return "bpe"; }
    int vocab_size() const override;
    // <|endoftext|> written literally in the text encodes as the special token (when the tokenizer has it).
    std::vector<int32_t> encode(std::string_view text) const override;
    std::string decode(std::span<const int32_t> ids) const override;
    std::string token_bytes(int32_t id) const override;
    std::optional<int32_t> endoftext_id() const override;
    // {"kind": "bpe", "version": 1, "pretokenizer": "gpt4-unicode", "merges": [[a, b], ...],
    //  "special": {"<|endoftext|>": id}, "tokens": [readable text of each token, for people only]}
    nlohmann::json to_json() const override;
    static std::unique_ptr<BpeTokenizer> from_json(const nlohmann::json& j);

    const std::vector<Pair>& merges() const { return merges_; }
    // The ids of one pre-tokenized chunk (no special tokens), with the merges applied.
    std::vector<int32_t> encode_chunk(std::string_view chunk) const;

private:
    void encode_ordinary(std::string_view text, std::vector<int32_t>& out) const;

    std::vector<Pair> merges_;                     // merge i: (a, b) -> 256 + i
    bool with_endoftext_;
    std::vector<std::string> vocab_;               // (V,) id -> bytes
    std::unordered_map<uint64_t, int32_t> rank_;   // pair key (a << 32 | b) -> merged id

    // Chunks repeat a lot in text ("the", " and"): their ids are cached. encode() holds the mutex, so
    // calls from several threads are safe and take turns.
    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace bayun
