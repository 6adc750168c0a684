// CharTokenizer (see tokenizer_char.h): code points in, ids out; a lookup table for the first 2048
// code points (Latin, Greek, Cyrillic) and a hash map for the rest.
#include "data/tokenizer_char.h"

#include "autograd/error.h"
#include "data/utf8.h"

#include <algorithm>
#include <set>

namespace bayun {

CharTokenizer::CharTokenizer(std::vector<char32_t> chars) : chars_(std::move(chars)), low_ids_(0x800, -1) {
    for (size_t i = 0; i < chars_.size(); ++i) {
        const char32_t c = chars_[i];
        if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            fail("tokenizer", "char vocabulary entry {} is U+{:X}, which is not a Unicode scalar value", i,
                 static_cast<uint32_t>(c));
        if (i > 0 && chars_[i - 1] >= c)
            fail("tokenizer", "char vocabulary is not strictly ascending at entry {} (corrupt file?)", i);
        if (c < low_ids_.size()) low_ids_[c] = static_cast<int32_t>(i);
        else high_ids_[c] = static_cast<int32_t>(i);
    }
}

std::unique_ptr<CharTokenizer> CharTokenizer::train(const std::vector<std::string>& texts) {
    std::vector<bool> seen_low(0x800, false);
    std::set<char32_t> seen_high;
    for (const std::string& text : texts) {
        if (const auto bad = find_invalid_utf8(text))
            fail("tokenizer", "training text has invalid UTF-8 at byte offset {}", *bad);
        for (size_t pos = 0; pos < text.size();) {
            const Utf8Step step = utf8_step(text, pos);
            if (step.code < 0x800) seen_low[step.code] = true;
            else seen_high.insert(step.code);
            pos += step.length;
        }
    }
    std::vector<char32_t> chars;
    for (char32_t c = 0; c < 0x800; ++c)
        if (seen_low[c]) chars.push_back(c);
    chars.insert(chars.end(), seen_high.begin(), seen_high.end());  // std::set: ascending
    if (chars.empty()) fail("tokenizer", "cannot build a char vocabulary from empty text");
    return std::make_unique<CharTokenizer>(std::move(chars));
}

int32_t CharTokenizer::lookup(char32_t c) const {
    if (c < low_ids_.size()) return low_ids_[c];
    const auto it = high_ids_.find(c);
    return it == high_ids_.end() ? -1 : it->second;
}

std::vector<int32_t> CharTokenizer::encode(std::string_view text) const {
    if (const auto bad = find_invalid_utf8(text))
        fail("tokenizer", "text has invalid UTF-8 at byte offset {} (byte 0x{:02X})", *bad,
             static_cast<unsigned char>(text[*bad]));
    std::vector<int32_t> ids;
    ids.reserve(text.size());
    std::vector<char32_t> unknown;  // distinct, in order of first appearance
    size_t unknown_count = 0;
    for (size_t pos = 0; pos < text.size();) {
        const Utf8Step step = utf8_step(text, pos);
        const int32_t id = lookup(step.code);
        if (id >= 0) {
            ids.push_back(id);
        } else {
            ++unknown_count;
            if (std::find(unknown.begin(), unknown.end(), step.code) == unknown.end()) unknown.push_back(step.code);
        }
        pos += step.length;
    }
    if (!unknown.empty()) {
        std::string names;
        for (size_t i = 0; i < unknown.size() && i < 10; ++i) names += (i ? ", " : "") + describe_code_point(unknown[i]);
        if (unknown.size() > 10) names += fmt::format(", and {} more", unknown.size() - 10);
        fail("tokenizer", "{} not in the char tokenizer's vocabulary ({} distinct, {} in all): {} "
             "(the vocabulary holds only characters seen in training; rephrase, or use a bpe tokenizer, "
             "which encodes any text)",
             unknown.size() == 1 ? "a character is" : "characters are", unknown.size(), unknown_count, names);
    }
    return ids;
}

std::string CharTokenizer::decode(std::span<const int32_t> ids) const {
    std::string out;
    out.reserve(ids.size());
    for (const int32_t id : ids) {
        if (id < 0 || id >= vocab_size())
            fail("tokenizer", "id {} is outside the char vocabulary [0, {})", id, vocab_size());
        append_utf8(out, chars_[id]);
    }
    return out;
}

std::string CharTokenizer::token_bytes(int32_t id) const {
    if (id < 0 || id >= vocab_size()) fail("tokenizer", "id {} is outside the char vocabulary [0, {})", id, vocab_size());
    return utf8_encode(chars_[id]);
}

nlohmann::json CharTokenizer::to_json() const {
    nlohmann::json chars = nlohmann::json::array();
    for (const char32_t c : chars_) chars.push_back(utf8_encode(c));
    return {{"kind", "char"}, {"version", 1}, {"vocab_size", vocab_size()}, {"chars", chars}};
}

std::unique_ptr<CharTokenizer> CharTokenizer::from_json(const nlohmann::json& j) {
    if (j.value("version", 0) != 1) fail("tokenizer", "char tokenizer JSON version {} is not supported (expected 1)", j.value("version", 0));
    std::vector<char32_t> chars;
    for (const auto& entry : j.at("chars")) {
        const std::string s = entry.get<std::string>();
        if (!is_valid_utf8(s) || count_code_points(s) != 1)
            fail("tokenizer", "char vocabulary entry {} must be exactly one character (corrupt file?)", chars.size());
        chars.push_back(utf8_step(s, 0).code);
    }
    if (chars.empty()) fail("tokenizer", "char tokenizer JSON has an empty vocabulary");
    return std::make_unique<CharTokenizer>(std::move(chars));
}

}  // namespace bayun
