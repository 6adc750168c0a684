// UTF-8 validation, decoding, descriptions and the Unicode classes the BPE pre-tokenizer relies on.
#include "data/utf8.h"
#include "support.h"

using namespace bayun;

TEST_CASE("well-formed UTF-8 in several scripts is valid and decodes to its code points", "[data][utf8]") {
    const std::string text = "Жили-были, ἦν, naïve, 😀, 中文";
    CHECK(is_valid_utf8(text));
    const std::u32string cps = utf8_decode(text);
    CHECK(cps.size() == count_code_points(text));
    CHECK(cps[0] == U'Ж');
    CHECK(cps.find(U'😀') != std::u32string::npos);
    std::string back;
    for (const char32_t c : cps) append_utf8(back, c);
    CHECK(back == text);
}

TEST_CASE("invalid UTF-8 is found at the byte offset where it starts", "[data][utf8]") {
    CHECK(find_invalid_utf8("abc\xFF") == std::optional<size_t>(3));
    CHECK(find_invalid_utf8("ok \xC0\x80") == std::optional<size_t>(3));         // overlong NUL
    CHECK(find_invalid_utf8("\xE0\x80\xAF") == std::optional<size_t>(0));        // overlong '/'
    CHECK(find_invalid_utf8("x\xED\xA0\x80") == std::optional<size_t>(1));       // surrogate U+D800
    CHECK(find_invalid_utf8("\xF4\x90\x80\x80") == std::optional<size_t>(0));    // above U+10FFFF
    CHECK(find_invalid_utf8("ab\x80") == std::optional<size_t>(2));              // lone continuation
    CHECK(find_invalid_utf8("abcdefgh\xE2\x82") == std::optional<size_t>(8));    // truncated at the end
    CHECK(find_invalid_utf8("\xF0\x9F\x98\x80 ok") == std::nullopt);
}

TEST_CASE("the complete prefix stops before an unfinished sequence and only there", "[data][utf8]") {
    const std::string smile = "\xF0\x9F\x98\x80";
    CHECK(utf8_complete_prefix("ab" + smile.substr(0, 1)) == 2);
    CHECK(utf8_complete_prefix("ab" + smile.substr(0, 3)) == 2);
    CHECK(utf8_complete_prefix("ab" + smile) == 6);
    CHECK(utf8_complete_prefix("\xD0") == 0);
    CHECK(utf8_complete_prefix("ab\xFF") == 3);  // invalid, not unfinished: nothing to wait for
}

TEST_CASE("code points are described for people with their character and number", "[data][utf8]") {
    CHECK(describe_code_point(U'ж') == "'ж' (U+0436)");
    CHECK(describe_code_point(U'😀') == "'😀' (U+1F600)");
    CHECK(describe_code_point(U'\n') == "U+000A");
    CHECK(printable_bytes("a\n\t\xD0") == "a\\n\\t<D0>");
}

TEST_CASE("character classes cover letters, digits, marks and spaces in any script", "[data][utf8]") {
    CHECK(char_class(U'a') == CharClass::Letter);
    CHECK(char_class(U'Ж') == CharClass::Letter);
    CHECK(char_class(U'ἦ') == CharClass::Letter);
    CHECK(char_class(U'中') == CharClass::Letter);
    CHECK(char_class(U'\u0301') == CharClass::Letter);  // combining acute accent
    CHECK(char_class(U'7') == CharClass::Number);
    CHECK(char_class(U'\u0663') == CharClass::Number);  // Arabic-Indic three
    CHECK(char_class(U'Ⅻ') == CharClass::Number);
    CHECK(char_class(U' ') == CharClass::Space);
    CHECK(char_class(U'\u00A0') == CharClass::Space);
    CHECK(char_class(U'\u3000') == CharClass::Space);
    CHECK(char_class(U'\n') == CharClass::Newline);
    CHECK(char_class(U'—') == CharClass::Other);
    CHECK(char_class(U'“') == CharClass::Other);
    CHECK(char_class(U'😀') == CharClass::Other);
}
