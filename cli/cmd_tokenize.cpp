// `bayun tokenize`: train a tokenizer on the corpus, and look at how it cuts text into tokens.
//   bayun tokenize train  --corpus PATH... --tokenizer char|bpe --vocab-size N --out FILE.json
//   bayun tokenize encode --tokenizer FILE.json --text TEXT [--show]   (text from stdin without --text)
//   bayun tokenize decode --tokenizer FILE.json --ids 1,2,3             (ids from stdin without --ids)
#include "autograd/error.h"
#include "cli/commands.h"
#include "data/corpus.h"
#include "data/tokenizer.h"
#include "data/tokenizer_bpe.h"
#include "data/utf8.h"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <iterator>
#include <sstream>

namespace bayun::cli {

namespace {

std::string read_stdin() {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

int tokenize_train(const Args& args) {
    po::options_description options("tokenize train options");
    options.add_options()
        ("help", "show these options")
        ("corpus", po::value<std::vector<std::string>>()->multitoken(),
         "corpus files or directories of .txt (default: $BAYUN_CORPUS, data/corpus, ../shared/corpus)")
        ("tokenizer", po::value<std::string>()->default_value("bpe"), "char (one token per character) or bpe")
        ("vocab-size", po::value<int>()->default_value(1024),
         "bpe: total vocabulary, 256 bytes + merges + <|endoftext|> (ignored for char)")
        ("no-endoftext", "bpe: no <|endoftext|> token between documents")
        ("out", po::value<std::string>()->required(), "where to write the tokenizer JSON");
    po::variables_map vm;
    if (!parse("tokenize train", args, options, vm)) return 0;

    const std::vector<std::string> paths =
        vm.count("corpus") ? vm["corpus"].as<std::vector<std::string>>() : std::vector<std::string>{default_corpus_dir()};
    const Corpus corpus = load_corpus(paths);
    std::vector<std::string> texts;
    for (const Document& d : corpus.documents) texts.push_back(d.text);

    // NOTE: the tokenizer is trained on whole books, validation part included: a vocabulary is not a
    // model fit, and a char vocabulary without the validation text's rare characters could not encode it.
    const std::string kind = vm["tokenizer"].as<std::string>();
    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<Tokenizer> tokenizer;
    if (kind == "bpe" && vm.count("no-endoftext"))
        tokenizer = BpeTokenizer::train(texts, vm["vocab-size"].as<int>(), false);
    else
        tokenizer = Tokenizer::train(kind, texts, vm["vocab-size"].as<int>());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const size_t tokens = encode_documents(*tokenizer, texts).size();
    const std::string out = vm["out"].as<std::string>();
    tokenizer->save(out);
    fmt::print("trained a {} tokenizer on {} files ({} bytes) in {:.2f} s\n", kind, corpus.documents.size(),
               corpus.bytes(), seconds);
    fmt::print("vocab size {}; the corpus is {} tokens ({:.2f} bytes per token)\n", tokenizer->vocab_size(), tokens,
               static_cast<double>(corpus.bytes()) / static_cast<double>(std::max<size_t>(tokens, 1)));
    fmt::print("wrote {}\n", out);
    return 0;
}

int tokenize_encode(const Args& args) {
    po::options_description options("tokenize encode options");
    options.add_options()
        ("help", "show these options")
        ("tokenizer", po::value<std::string>()->required(), "tokenizer JSON (from 'bayun tokenize train')")
        ("text", po::value<std::string>(), "the text to encode (default: read standard input)")
        ("show", "show how the text splits into tokens, each in [brackets] with its id");
    po::variables_map vm;
    if (!parse("tokenize encode", args, options, vm)) return 0;
    const auto tokenizer = Tokenizer::load(vm["tokenizer"].as<std::string>());
    const std::string text = vm.count("text") ? vm["text"].as<std::string>() : read_stdin();
    const std::vector<int32_t> ids = tokenizer->encode(text);

    if (!vm.count("show")) {
        fmt::print("{}\n", fmt::join(ids, ","));
        return 0;
    }
    // Like minGPT's encode_and_show_work: the text with every token visibly delimited, then a table.
    fmt::print("{} tokens for {} bytes, {} characters ({} tokenizer, vocab {})\n\n", ids.size(), text.size(),
               count_code_points(text), tokenizer->kind(), tokenizer->vocab_size());
    std::string line;
    for (const int32_t id : ids) line += fmt::format("[{}]", printable_bytes(tokenizer->token_bytes(id)));
    fmt::print("{}\n\n{:>7}  {:>5}  {}\n", line, "id", "bytes", "token");
    for (const int32_t id : ids) {
        const std::string bytes = tokenizer->token_bytes(id);
        fmt::print("{:>7}  {:>5}  [{}]\n", id, bytes.size(), printable_bytes(bytes));
    }
    return 0;
}

std::vector<int32_t> parse_ids(const std::string& text) {
    std::vector<int32_t> ids;
    std::string number;
    const auto finish = [&] {
        if (number.empty()) return;
        try {
            size_t used = 0;
            const long value = std::stol(number, &used);
            if (used != number.size() || value < 0 || value > INT32_MAX) throw std::invalid_argument(number);
            ids.push_back(static_cast<int32_t>(value));
        } catch (const std::exception&) {
            fail("tokenize decode", "'{}' is not a token id (expected non-negative integers like 1,2,3)", number);
        }
        number.clear();
    };
    for (const char c : text) {
        if (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '[' || c == ']') finish();
        else number += c;
    }
    finish();
    return ids;
}

int tokenize_decode(const Args& args) {
    po::options_description options("tokenize decode options");
    options.add_options()
        ("help", "show these options")
        ("tokenizer", po::value<std::string>()->required(), "tokenizer JSON (from 'bayun tokenize train')")
        ("ids", po::value<std::string>(), "token ids separated by commas or spaces (default: standard input)");
    po::variables_map vm;
    if (!parse("tokenize decode", args, options, vm)) return 0;
    const auto tokenizer = Tokenizer::load(vm["tokenizer"].as<std::string>());
    const std::vector<int32_t> ids = parse_ids(vm.count("ids") ? vm["ids"].as<std::string>() : read_stdin());
    // Through the stream decoder, as generation prints: a slice ending inside a character shows U+FFFD.
    StreamDecoder decoder(*tokenizer);
    std::string text;
    for (const int32_t id : ids) text += decoder.push(id);
    text += decoder.flush();
    fmt::print("{}{}", text, !text.empty() && text.back() == '\n' ? "" : "\n");
    return 0;
}

}  // namespace

int run_tokenize(const Args& args) {
    const std::string usage =
        "usage: bayun tokenize train|encode|decode [options]   (bayun tokenize <action> --help for its options)";
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        fmt::print("{}\n", usage);
        return args.empty() ? 1 : 0;
    }
    const Args rest(args.begin() + 1, args.end());
    if (args[0] == "train") return tokenize_train(rest);
    if (args[0] == "encode") return tokenize_encode(rest);
    if (args[0] == "decode") return tokenize_decode(rest);
    fail("tokenize", "unknown action '{}' (expected train, encode or decode)", args[0]);
}

}  // namespace bayun::cli
