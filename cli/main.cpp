// `bayun`: the one executable. Dispatches to a subcommand, and turns errors into one clear line:
//   bayun: error: [checkpoint] 'runs/tale': no model.safetensors in the directory (train first?)
#include "autograd/error.h"
#include "cli/commands.h"

#include <fmt/format.h>

#include <cstdio>
#include <sstream>
#include <exception>

namespace bayun::cli {

namespace {
void print_usage() {
    fmt::print("bayun {} - build, train and inspect a small GPT on folk tales\n\n", BAYUN_VERSION);
    fmt::print("usage: bayun <command> [options]     (bayun <command> --help for its options)\n\ncommands:\n");
    for (const Command& command : commands()) fmt::print("  {:<11} {}\n", command.name, command.summary);
    fmt::print("\n  --help      this list\n  --version   the version\n");
}
}  // namespace

bool parse(const std::string& command, const Args& args, const po::options_description& options,
           po::variables_map& vm, const po::positional_options_description* positional) {
    try {
        po::command_line_parser parser(args);
        parser.options(options);
        if (positional) parser.positional(*positional);
        po::store(parser.run(), vm);
        if (vm.count("help")) {
            fmt::print("usage: bayun {} [options]\n\n", command);
            std::fputs((std::ostringstream() << options).str().c_str(), stdout);
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        fail(command, "{} (see 'bayun {} --help')", e.what(), command);
    }
    return true;
}

}  // namespace bayun::cli

int main(int argc, char** argv) {
    using namespace bayun::cli;
    const Args all(argv + 1, argv + argc);
    if (all.empty() || all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
        print_usage();
        return all.empty() ? 1 : 0;
    }
    if (all[0] == "--version" || all[0] == "-V") {
        fmt::print("bayun {}\n", BAYUN_VERSION);
        return 0;
    }
    for (const Command& command : commands()) {
        if (all[0] != command.name) continue;
        try {
            return command.run(Args(all.begin() + 1, all.end()));
        } catch (const bayun::Error& e) {
            fmt::print(stderr, "bayun: error: {}\n", e.what());
            return 1;
        } catch (const bayun::InternalError& e) {
            fmt::print(stderr, "bayun: {}\nplease report this with the command you ran\n", e.what());
            return 70;
        } catch (const std::bad_alloc&) {
            fmt::print(stderr, "bayun: error: out of memory (try a smaller --batch, --context or model)\n");
            return 1;
        } catch (const std::exception& e) {
            fmt::print(stderr, "bayun: error: {}\n", e.what());
            return 1;
        }
    }
    fmt::print(stderr, "bayun: error: unknown command '{}' (run 'bayun --help' for the list)\n", all[0]);
    return 2;
}
