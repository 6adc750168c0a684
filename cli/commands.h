// The subcommands of `bayun`. Each lives in its own cmd_<name>.cpp and is listed once in main.cpp.
// A command receives its own arguments (after the subcommand name) and returns the exit code; it throws
// bayun::Error for user mistakes, which main() turns into one clear line and exit code 1.
#pragma once

#include <boost/program_options.hpp>

#include <string>
#include <vector>

namespace bayun::cli {

using Args = std::vector<std::string>;

struct Command {
    const char* name;
    const char* summary;
    int (*run)(const Args& args);
};

const std::vector<Command>& commands();

// Parses `args` against `options` (and positional names, if any). Prints the usage and returns false
// when --help was given. Unknown flags and bad values throw bayun::Error naming the flag and a hint.
namespace po = boost::program_options;
bool parse(const std::string& command, const Args& args, const po::options_description& options,
           po::variables_map& vm, const po::positional_options_description* positional = nullptr);

}  // namespace bayun::cli
