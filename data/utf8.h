// UTF-8 and Unicode helpers for the data pipeline. Text in bayun is UTF-8 bytes (std::string); these
// functions validate it, walk it code point by code point, and classify code points for the BPE
// pre-tokenizer. Nothing here assumes ASCII: Cyrillic, Greek, accents and emoji are ordinary input.
// Reference: RFC 3629 (UTF-8), Unicode Standard chapter 3.9, table 3-7 (well-formed byte sequences).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bayun {

// What the bytes at one position hold.
enum class Utf8Status { Ok, Incomplete, Invalid };
struct Utf8Step {
    Utf8Status status;
    size_t length;    // Ok: bytes of the code point (1-4); Incomplete: bytes present so far; Invalid: 1
    char32_t code;    // the code point when Ok
};

// Reads the code point starting at byte `pos` (pos < s.size()). Incomplete means the bytes so far are a
// valid start but the string ends before the sequence does (a streaming decoder waits for more).
// Overlong forms, surrogates (U+D800..U+DFFF) and values above U+10FFFF are Invalid.
Utf8Step utf8_step(std::string_view s, size_t pos);

// Byte offset of the first byte that is not well-formed UTF-8 (a truncated sequence at the end counts),
// or nullopt when all of `s` is valid.
std::optional<size_t> find_invalid_utf8(std::string_view s);
inline bool is_valid_utf8(std::string_view s) { return !find_invalid_utf8(s); }

// Length of the longest prefix of `s` that does not end inside an incomplete code point. The bytes after
// it are the start of a sequence that more bytes could still complete.
size_t utf8_complete_prefix(std::string_view s);

// Appends the UTF-8 bytes of one code point (which must be a valid scalar value).
void append_utf8(std::string& out, char32_t code);
std::string utf8_encode(char32_t code);

// The code points of valid UTF-8 (check with find_invalid_utf8 first; invalid bytes become U+FFFD).
std::u32string utf8_decode(std::string_view s);
size_t count_code_points(std::string_view s);  // of valid UTF-8

// A code point for people to read in messages: 'ж' (U+0436); invisible ones only by number: U+000A.
std::string describe_code_point(char32_t code);
// Bytes for people to read: valid UTF-8 as is, control characters escaped (\n, \t, \x01), and bytes
// that are not (or not yet) complete UTF-8 as <E2>. Used by `bayun tokenize encode --show`.
std::string printable_bytes(std::string_view bytes);

// The coarse classes the BPE pre-tokenizer needs (Unicode general categories, whitespace property).
enum class CharClass : uint8_t {
    Letter,      // L* and M* (a combining accent belongs to the word it modifies)
    Number,      // N*: digits in any script, Roman numerals, superscripts
    Newline,     // \n and \r
    Space,       // other Unicode White_Space: space, tab, no-break space, ideographic space, ...
    Other,       // punctuation, symbols, emoji, control and unassigned code points
};
CharClass char_class(char32_t code);

}  // namespace bayun
