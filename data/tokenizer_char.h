// CharTokenizer: the simplest tokenizer, one token per Unicode code point (character), as in Karpathy's
// char-level nanoGPT but over code points rather than bytes, so 'ж' and 'é' are one token each.
// The vocabulary is every distinct code point of the training text, sorted by code point value, so the
// same text always gives the same ids. Text with a character outside the vocabulary cannot be encoded.
#pragma once

#include "data/tokenizer.h"

#include <unordered_map>

namespace bayun {

class CharTokenizer final : public Tokenizer {
public:
    explicit CharTokenizer(std::vector<char32_t> chars);  // the vocabulary: id i is chars[i]
    static std::unique_ptr<CharTokenizer> train(const std::vector<std::string>& texts);

    std::string kind() const override { return "char"; }
    int vocab_size() const override { return static_cast<int>(chars_.size()); }
    std::vector<int32_t> encode(std::string_view text) const override;
    std::string decode(std::span<const int32_t> ids) const override;
    std::string token_bytes(int32_t id) const override;
    nlohmann::json to_json() const override;  // {"kind": "char", "version": 1, "chars": ["\n", " ", ...]}
    static std::unique_ptr<CharTokenizer> from_json(const nlohmann::json& j);

    const std::vector<char32_t>& chars() const { return chars_; }

private:
    int32_t lookup(char32_t c) const;  // -1 when not in the vocabulary

    std::vector<char32_t> chars_;                         // (V,) id -> code point, ascending
    std::vector<int32_t> low_ids_;                        // code points below 0x800 -> id or -1 (fast path)
    std::unordered_map<char32_t, int32_t> high_ids_;      // the rest
};

}  // namespace bayun
