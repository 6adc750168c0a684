// The list of subcommands, in the order `bayun --help` shows them. Add a line here for a new cmd_*.cpp.
#include "cli/commands.h"

namespace bayun::cli {

int run_gradcheck(const Args& args);

const std::vector<Command>& commands() {
    static const std::vector<Command> list = {
        {"gradcheck", "check every gradient of a tiny model against finite differences", run_gradcheck},
    };
    return list;
}

}  // namespace bayun::cli
