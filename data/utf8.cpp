// UTF-8 validation, decoding and code point classes (see utf8.h). The validator follows the table of
// well-formed byte sequences in the Unicode Standard (3.9, table 3-7), one lead byte at a time.
#include "data/utf8.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <iterator>

namespace bayun {

Utf8Step utf8_step(std::string_view s, size_t pos) {
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = byte(pos);
    if (lead < 0x80) return {Utf8Status::Ok, 1, lead};

    // The lead byte fixes the length and the allowed range of the second byte (this is what rules out
    // overlong forms, surrogates and values above U+10FFFF); later bytes are always 80..BF.
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    char32_t code = 0;
    if (lead >= 0xC2 && lead <= 0xDF) { length = 2; code = lead & 0x1F; }
    else if (lead == 0xE0) { length = 3; low = 0xA0; code = lead & 0x0F; }
    else if (lead == 0xED) { length = 3; high = 0x9F; code = lead & 0x0F; }
    else if (lead >= 0xE1 && lead <= 0xEF) { length = 3; code = lead & 0x0F; }
    else if (lead == 0xF0) { length = 4; low = 0x90; code = lead & 0x07; }
    else if (lead == 0xF4) { length = 4; high = 0x8F; code = lead & 0x07; }
    else if (lead >= 0xF1 && lead <= 0xF3) { length = 4; code = lead & 0x07; }
    else return {Utf8Status::Invalid, 1, 0};  // 80..C1 (continuation or overlong lead), F5..FF

    for (size_t k = 1; k < length; ++k) {
        if (pos + k >= s.size()) return {Utf8Status::Incomplete, k, 0};
        const unsigned char b = byte(pos + k);
        const bool ok = (k == 1) ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xBF);
        if (!ok) return {Utf8Status::Invalid, 1, 0};
        code = (code << 6) | (b & 0x3F);
    }
    return {Utf8Status::Ok, length, code};
}

std::optional<size_t> find_invalid_utf8(std::string_view s) {
    size_t pos = 0;
    while (pos < s.size()) {
        // Fast path: eight ASCII bytes at a time.
        while (pos + 8 <= s.size()) {
            uint64_t word = 0;
            for (int k = 0; k < 8; ++k) word |= static_cast<uint64_t>(static_cast<unsigned char>(s[pos + k])) << (8 * k);
            if (word & 0x8080808080808080ULL) break;
            pos += 8;
        }
        if (pos >= s.size()) break;
        const Utf8Step step = utf8_step(s, pos);
        if (step.status != Utf8Status::Ok) return pos;
        pos += step.length;
    }
    return std::nullopt;
}

size_t utf8_complete_prefix(std::string_view s) {
    // Only the last three bytes can start an unfinished sequence; look back for a lead byte there.
    const size_t from = s.size() > 3 ? s.size() - 3 : 0;
    for (size_t pos = s.size(); pos-- > from;) {
        const unsigned char b = static_cast<unsigned char>(s[pos]);
        if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for its lead
        return utf8_step(s, pos).status == Utf8Status::Incomplete ? pos : s.size();
    }
    return s.size();
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

std::string utf8_encode(char32_t code) {
    std::string out;
    append_utf8(out, code);
    return out;
}

std::u32string utf8_decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (size_t pos = 0; pos < s.size();) {
        const Utf8Step step = utf8_step(s, pos);
        out += step.status == Utf8Status::Ok ? step.code : U'\uFFFD';
        pos += step.status == Utf8Status::Ok ? step.length : 1;
    }
    return out;
}

size_t count_code_points(std::string_view s) {
    // Every byte that is not a continuation byte (10xxxxxx) starts a code point.
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

namespace {
bool is_invisible(char32_t c) {
    return c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == 0xAD || (c >= 0x200B && c <= 0x200F) ||
           (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF ||
           char_class(c) == CharClass::Space || char_class(c) == CharClass::Newline;
}
}  // namespace

std::string describe_code_point(char32_t c) {
    if (is_invisible(c)) return fmt::format("U+{:04X}", static_cast<uint32_t>(c));
    return fmt::format("'{}' (U+{:04X})", utf8_encode(c), static_cast<uint32_t>(c));
}

std::string printable_bytes(std::string_view bytes) {
    std::string out;
    for (size_t pos = 0; pos < bytes.size();) {
        const Utf8Step step = utf8_step(bytes, pos);
        if (step.status != Utf8Status::Ok) {
            out += fmt::format("<{:02X}>", static_cast<unsigned char>(bytes[pos]));
            ++pos;
            continue;
        }
        const char32_t c = step.code;
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", static_cast<uint32_t>(c));
        else out.append(bytes.substr(pos, step.length));
        pos += step.length;
    }
    return out;
}

namespace {
struct ClassRange {
    char32_t first, last;
    CharClass cls;
};
constexpr ClassRange kClassRanges[] = {
#include "data/unicode_tables.inc"
};

// Unicode's White_Space property (PropList.txt); \n and \r get their own class.
bool is_white_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

CharClass classify_slow(char32_t c) {
    if (c == '\n' || c == '\r') return CharClass::Newline;
    if (is_white_space(c)) return CharClass::Space;
    // Binary search for the last range whose first code point is <= c.
    const auto it = std::upper_bound(std::begin(kClassRanges), std::end(kClassRanges), c,
                                     [](char32_t code, const ClassRange& r) { return code < r.first; });
    if (it == std::begin(kClassRanges)) return CharClass::Other;
    const ClassRange& r = *std::prev(it);
    return c <= r.last ? r.cls : CharClass::Other;
}

// The Latin, Greek and Cyrillic blocks cover almost every character in the corpus: a lookup table.
struct LowTable {
    std::array<CharClass, 0x800> cls{};
    LowTable() {
        for (char32_t c = 0; c < cls.size(); ++c) cls[c] = classify_slow(c);
    }
};
}  // namespace

CharClass char_class(char32_t c) {
    static const LowTable table;
    return c < table.cls.size() ? table.cls[c] : classify_slow(c);
}

}  // namespace bayun
