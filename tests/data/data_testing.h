// Helpers for the data tests: a scratch directory that cleans up after itself, small file writers, and
// the shared corpus (always present next to the repository: ../shared/corpus).
#pragma once

#include "support.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace bayun::test {

// A fresh directory under the system temp dir, removed with everything in it at the end of the test.
class ScratchDir {
public:
    ScratchDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("bayun-test-data-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;

    std::string file(const std::string& name) const { return (path_ / name).string(); }
    std::string write(const std::string& name, const std::string& bytes) const {
        std::ofstream out(path_ / name, std::ios::binary);
        out << bytes;
        return file(name);
    }
    std::string str() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

inline std::string shared_corpus_dir() { return BAYUN_SOURCE_DIR "/../shared/corpus"; }

}  // namespace bayun::test
