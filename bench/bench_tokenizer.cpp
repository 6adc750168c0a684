// Tokenizer benchmark: how long BPE training takes on the whole corpus and how fast both tokenizers
// encode and decode (MB/s of UTF-8 text). Prints one JSON object per line.
// Usage: build/bench/bench_tokenizer [--corpus PATH] [--vocab-size 4096] [--repeat 3]
#include "autograd/error.h"
#include "data/corpus.h"
#include "data/tokenizer_bpe.h"
#include "data/tokenizer_char.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The best of `repeat` runs of f(), in seconds.
template <typename F>
double best_of(int repeat, F&& f) {
    double best = 1e30;
    for (int r = 0; r < repeat; ++r) {
        const auto start = std::chrono::steady_clock::now();
        f();
        best = std::min(best, seconds_since(start));
    }
    return best;
}

void emit(const nlohmann::json& j) { fmt::print("{}\n", j.dump()); }

}  // namespace

int main(int argc, char** argv) {
    std::string corpus_path;
    std::vector<int> vocab_sizes{512, 4096};
    int repeat = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--corpus") corpus_path = argv[i + 1];
        else if (flag == "--vocab-size") vocab_sizes = {std::atoi(argv[i + 1])};
        else if (flag == "--repeat") repeat = std::max(1, std::atoi(argv[i + 1]));
        else { fmt::print(stderr, "unknown flag {}\n", flag); return 2; }
    }
    try {
        using namespace bayun;
        const Corpus corpus = load_corpus({corpus_path.empty() ? default_corpus_dir() : corpus_path});
        std::vector<std::string> texts;
        for (const Document& d : corpus.documents) texts.push_back(d.text);
        const double mb = static_cast<double>(corpus.bytes()) / 1e6;
        emit({{"bench", "corpus"}, {"files", texts.size()}, {"bytes", corpus.bytes()}});

        for (const int vocab_size : vocab_sizes) {
            std::unique_ptr<BpeTokenizer> bpe;
            const auto start = std::chrono::steady_clock::now();
            bpe = BpeTokenizer::train(texts, vocab_size);
            const double train_s = seconds_since(start);
            emit({{"bench", "bpe_train"}, {"vocab_size", bpe->vocab_size()}, {"merges", bpe->merges().size()},
                  {"seconds", train_s}, {"corpus_mb", mb}});

            // Cold: a fresh tokenizer (empty chunk cache); warm: the cache filled by the first pass.
            auto fresh = BpeTokenizer::from_json(bpe->to_json());
            size_t tokens = 0;
            const double cold = best_of(1, [&] { for (const auto& t : texts) tokens += fresh->encode(t).size(); });
            const double warm = best_of(repeat, [&] { for (const auto& t : texts) (void)fresh->encode(t); });
            std::vector<std::vector<int32_t>> ids;
            for (const auto& t : texts) ids.push_back(fresh->encode(t));
            const double dec = best_of(repeat, [&] { for (const auto& i : ids) (void)fresh->decode(i); });
            emit({{"bench", "bpe_encode"}, {"vocab_size", bpe->vocab_size()}, {"tokens", tokens},
                  {"bytes_per_token", static_cast<double>(corpus.bytes()) / static_cast<double>(tokens)},
                  {"cold_mb_per_s", mb / cold}, {"warm_mb_per_s", mb / warm}, {"decode_mb_per_s", mb / dec}});
        }

        std::unique_ptr<CharTokenizer> chars;
        const double char_train = best_of(1, [&] { chars = CharTokenizer::train(texts); });
        const double enc = best_of(repeat, [&] { for (const auto& t : texts) (void)chars->encode(t); });
        std::vector<std::vector<int32_t>> ids;
        for (const auto& t : texts) ids.push_back(chars->encode(t));
        const double dec = best_of(repeat, [&] { for (const auto& i : ids) (void)chars->decode(i); });
        emit({{"bench", "char"}, {"vocab_size", chars->vocab_size()}, {"train_seconds", char_train},
              {"encode_mb_per_s", mb / enc}, {"decode_mb_per_s", mb / dec}});
    } catch (const std::exception& e) {
        fmt::print(stderr, "bench_tokenizer: error: {}\n", e.what());
        return 1;
    }
    return 0;
}
