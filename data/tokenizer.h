// Tokenizer: text <-> token ids, the interface shared by the two tokenizers bayun teaches:
//   - CharTokenizer (tokenizer_char.h): one token per Unicode code point seen in training (not per byte);
//   - BpeTokenizer (tokenizer_bpe.h): byte-level BPE, 256 byte tokens plus learned merges, encodes any text.
// A tokenizer is saved as JSON (tokenizer.json inside a checkpoint directory) and loaded by its "kind".
// Shapes: encode gives (N,) ids in [0, V); the model's embedding table wte is (V, C) with V = vocab_size().
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bayun {

class Tokenizer {
public:
    virtual ~Tokenizer();

    virtual std::string kind() const = 0;  // "char" or "bpe"
    virtual int vocab_size() const = 0;    // V: ids are 0 .. V-1

    // Text (UTF-8) to ids. Throws bayun::Error for invalid UTF-8, and (char tokenizer) for characters
    // outside the vocabulary, naming them: 'ж' (U+0436).
    virtual std::vector<int32_t> encode(std::string_view text) const = 0;
    // Ids to text. For BPE a slice of ids may end inside a multi-byte character; the result of decoding
    // a whole encode() is the original text exactly. Throws bayun::Error for ids outside [0, V).
    virtual std::string decode(std::span<const int32_t> ids) const = 0;
    // The raw bytes of one token (possibly part of a UTF-8 character for BPE).
    virtual std::string token_bytes(int32_t id) const = 0;
    // The id of the <|endoftext|> token that separates documents, if this tokenizer has one.
    virtual std::optional<int32_t> endoftext_id() const { return std::nullopt; }

    virtual nlohmann::json to_json() const = 0;
    // Writes to_json() to `path` atomically (temporary file, flush, rename): never a half-written file.
    void save(const std::string& path) const;
    // Reads a file written by save(); clear errors for a missing, unreadable or corrupt file.
    static std::unique_ptr<Tokenizer> load(const std::string& path);
    static std::unique_ptr<Tokenizer> from_json(const nlohmann::json& j);

    // Trains a tokenizer of `kind` ("char" or "bpe") on `texts` (one string per document). vocab_size is
    // the total V for BPE (256 bytes + merges + <|endoftext|>) and ignored for char.
    static std::unique_ptr<Tokenizer> train(const std::string& kind, const std::vector<std::string>& texts,
                                            int vocab_size);
};

// The token stream of several documents: each encoded on its own and joined, with <|endoftext|> between
// documents when the tokenizer has it (the model then learns where a book ends).
std::vector<int32_t> encode_documents(const Tokenizer& tokenizer, const std::vector<std::string>& texts);

// Turns ids into text as they are generated, one at a time, without ever returning a broken character:
// bytes that end inside a UTF-8 sequence are held back until the next tokens complete it. Bytes that can
// never become valid UTF-8 come out as U+FFFD (the replacement character), as does an unfinished
// sequence left at flush().
class StreamDecoder {
public:
    explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
    std::string push(int32_t id);  // the complete characters now available (possibly "")
    std::string flush();           // whatever is still held back, at the end of generation
    size_t pending_bytes() const { return pending_.size(); }

private:
    const Tokenizer& tokenizer_;
    std::string pending_;  // bytes of an unfinished UTF-8 sequence (at most 3)
};

}  // namespace bayun
