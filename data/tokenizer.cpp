// What both tokenizers share: JSON files (atomic save, checked load), training by kind, joining
// documents with <|endoftext|>, and the streaming decoder that never prints half a character.
#include "data/tokenizer.h"

#include "autograd/error.h"
#include "data/tokenizer_bpe.h"
#include "data/tokenizer_char.h"
#include "data/utf8.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace bayun {

Tokenizer::~Tokenizer() = default;

void Tokenizer::save(const std::string& path) const {
    const std::string text = to_json().dump(1) + "\n";
    const fs::path target(path);
    std::error_code ec;
    if (target.has_parent_path() && !fs::is_directory(target.parent_path(), ec))
        fail("tokenizer", "'{}': the directory '{}' does not exist (create it first)", path, target.parent_path().string());
    // Write next to the target and rename over it: readers see the old file or the new one, never half.
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) fail("tokenizer", "'{}': cannot open for writing (check the directory's permissions)", tmp);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        out.flush();
        if (!out) {
            out.close();
            fs::remove(tmp, ec);
            fail("tokenizer", "'{}': write failed (disk full?)", tmp);
        }
    }
    fs::rename(tmp, target, ec);
    if (ec) {
        fs::remove(tmp, ec);
        fail("tokenizer", "'{}': cannot rename the temporary file into place", path);
    }
}

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::error_code ec;
        fail("tokenizer", "'{}': {} (train one with 'bayun tokenize train')", path,
             fs::exists(path, ec) ? "cannot open the file" : "no such file");
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(buffer.str());
    } catch (const nlohmann::json::parse_error& e) {
        fail("tokenizer", "'{}': not valid JSON ({}) (truncated or corrupt file?)", path, e.what());
    }
    try {
        return from_json(j);
    } catch (const Error& e) {
        std::string_view message = e.what();
        if (message.starts_with("[tokenizer] ")) message.remove_prefix(12);  // name the file, keep one prefix
        fail("tokenizer", "'{}': {}", path, message);
    }
}

std::unique_ptr<Tokenizer> Tokenizer::from_json(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string())
        fail("tokenizer", "JSON has no \"kind\" (expected \"char\" or \"bpe\"; is this a tokenizer file?)");
    const std::string kind = j["kind"];
    try {
        if (kind == "char") return CharTokenizer::from_json(j);
        if (kind == "bpe") return BpeTokenizer::from_json(j);
    } catch (const nlohmann::json::exception& e) {
        fail("tokenizer", "corrupt {} tokenizer JSON: {}", kind, e.what());
    }
    fail("tokenizer", "unknown kind \"{}\" (expected \"char\" or \"bpe\")", kind);
}

std::unique_ptr<Tokenizer> Tokenizer::train(const std::string& kind, const std::vector<std::string>& texts,
                                            int vocab_size) {
    if (kind == "char") return CharTokenizer::train(texts);
    if (kind == "bpe") return BpeTokenizer::train(texts, vocab_size);
    fail("tokenizer", "unknown tokenizer '{}' (expected 'char' or 'bpe')", kind);
}

std::vector<int32_t> encode_documents(const Tokenizer& tokenizer, const std::vector<std::string>& texts) {
    std::vector<int32_t> ids;
    const auto eot = tokenizer.endoftext_id();
    for (size_t i = 0; i < texts.size(); ++i) {
        if (i > 0 && eot) ids.push_back(*eot);
        const std::vector<int32_t> doc = tokenizer.encode(texts[i]);
        ids.insert(ids.end(), doc.begin(), doc.end());
    }
    return ids;
}

std::string StreamDecoder::push(int32_t id) {
    pending_ += tokenizer_.token_bytes(id);
    std::string out;
    size_t pos = 0;
    while (pos < pending_.size()) {
        const Utf8Step step = utf8_step(pending_, pos);
        if (step.status == Utf8Status::Incomplete) break;  // wait for the bytes of the next token
        if (step.status == Utf8Status::Invalid) {
            out += "\uFFFD";                                 // can never be valid: replace, do not print
            pos += 1;
        } else {
            out.append(pending_, pos, step.length);
            pos += step.length;
        }
    }
    pending_.erase(0, pos);
    return out;
}

std::string StreamDecoder::flush() {
    std::string out = pending_.empty() ? "" : "\uFFFD";
    pending_.clear();
    return out;
}

}  // namespace bayun
