// The list of subcommands, in the order `bayun --help` shows them. Add a line here for a new cmd_*.cpp.
#include "cli/commands.h"

namespace bayun::cli {

int run_train(const Args& args);
int run_generate(const Args& args);
int run_gradcheck(const Args& args);
int run_bench(const Args& args);
int run_corpus(const Args& args);
int run_tokenize(const Args& args);
int run_inspect(const Args& args);

const std::vector<Command>& commands() {
    static const std::vector<Command> list = {
        {"train", "train a GPT on the folk tales (or your text); checkpoints resume exactly", run_train},
        {"generate", "tell a tale from a checkpoint (KV cache, sampling, --explain, -i)", run_generate},
        {"gradcheck", "check every gradient of a tiny model against finite differences", run_gradcheck},
        {"bench", "measure training, decoding and matmul speed (JSON lines)", run_bench},
        {"corpus", "get the folk-tale corpus (fetch) and count its bytes, characters and lines (info)", run_corpus},
        {"tokenize", "train a char or BPE tokenizer, and encode/decode text with it (--show)", run_tokenize},
        {"inspect", "look inside a checkpoint: attention, embeddings, next token, trace, loss curve", run_inspect},
    };
    return list;
}

}  // namespace bayun::cli
