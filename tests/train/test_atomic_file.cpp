// Atomic files and directories: a save completes or leaves the previous version, and failures say why.
#include "train/atomic_file.h"

#include "support.h"
#include "temp_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

using namespace bayun;
namespace fs = std::filesystem;
using test::read_bytes;
using test::write_bytes;

namespace {
// Names in `dir`, sorted, to see exactly what a save left behind.
std::vector<std::string> listing(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}
}  // namespace

TEST_CASE("write_file_atomic replaces the file and leaves no temporary behind", "[train][atomic]") {
    test::TempDir dir;
    const std::string path = dir / "model.bin";
    write_file_atomic(path, "first");
    write_file_atomic(path, "second version");
    CHECK(read_bytes(path) == "second version");
    CHECK(listing(dir.path()) == std::vector<std::string>{"model.bin"});
}

TEST_CASE("a crash during a save leaves the previous file intact", "[train][atomic]") {
    test::TempDir dir;
    const std::string path = dir / "model.bin";
    write_file_atomic(path, "good checkpoint");

    // A process killed mid-save leaves its half-written temporary file; the real name still has the old bytes.
    write_bytes(path + ".tmp-99999", "half wri");
    CHECK(read_bytes(path) == "good checkpoint");

    // The next save works, whatever the leftover.
    write_file_atomic(path, "newer checkpoint");
    CHECK(read_bytes(path) == "newer checkpoint");
}

TEST_CASE("an AtomicFile that is never committed leaves the old file and removes its temporary", "[train][atomic]") {
    test::TempDir dir;
    const std::string path = dir / "model.bin";
    write_file_atomic(path, "old");
    try {
        AtomicFile out(path);
        out.write("new bytes that never");
        CHECK(fs::exists(out.temp_path()));
        throw std::runtime_error("interrupted");  // e.g. a tensor failed to serialise
    } catch (const std::runtime_error&) {
    }
    CHECK(read_bytes(path) == "old");
    CHECK(listing(dir.path()) == std::vector<std::string>{"model.bin"});
}

TEST_CASE("writing into a missing directory names the file and the directory", "[train][atomic]") {
    test::TempDir dir;
    const std::string path = dir / "nope/model.bin";
    REQUIRE_THROWS_WITH(write_file_atomic(path, "x"),
                        fmt::format("[checkpoint] cannot write '{}': No such file or directory (does the directory "
                                    "'{}' exist?)", path, dir / "nope"));
}

TEST_CASE("writing below a regular file says part of the path is a file", "[train][atomic]") {
    test::TempDir dir;
    write_bytes(dir / "runs", "not a directory");
    const std::string path = dir / "runs/last.bin";
    REQUIRE_THROWS_WITH(write_file_atomic(path, "x"),
                        fmt::format("[checkpoint] cannot write '{}': Not a directory (is part of the path a file "
                                    "rather than a directory?)", path));
}

TEST_CASE("writing into a read-only directory asks whether it is writable", "[train][atomic]") {
    if (::geteuid() == 0) {
        WARN("running as root, which may write anywhere: permission check skipped");
        return;
    }
    test::TempDir dir;
    fs::create_directory(dir / "locked");
    ::chmod((dir / "locked").c_str(), 0555);
    const std::string path = dir / "locked/last";
    CHECK_THROWS_WITH(write_file_atomic(path, "x"),
                      fmt::format("[checkpoint] cannot write '{}': Permission denied (is the output directory "
                                  "writable?)", path));
    ::chmod((dir / "locked").c_str(), 0755);
}

TEST_CASE("write_directory_atomic creates, then swaps in a new version, leaving nothing else", "[train][atomic]") {
    test::TempDir dir;
    const std::string ckpt = dir / "runs/tale/last";  // parents are created
    write_directory_atomic(ckpt, [](const std::string& staging) {
        write_bytes(staging + "/model.bin", "v1 model");
        write_bytes(staging + "/config.json", "{}");
    });
    CHECK(listing(ckpt) == std::vector<std::string>{"config.json", "model.bin"});

    write_directory_atomic(ckpt, [](const std::string& staging) {
        CHECK(staging != "");
        write_file_atomic(staging + "/model.bin", "v2 model");
    });
    CHECK(listing(ckpt) == std::vector<std::string>{"model.bin"});  // the old directory is gone, not merged
    CHECK(read_bytes(ckpt + "/model.bin") == "v2 model");
    CHECK(listing(dir / "runs/tale") == std::vector<std::string>{"last"});
}

TEST_CASE("a failure while filling the new directory leaves the previous one intact", "[train][atomic]") {
    test::TempDir dir;
    const std::string ckpt = dir / "last";
    write_directory_atomic(ckpt, [](const std::string& staging) { write_bytes(staging + "/model.bin", "v1"); });
    CHECK_THROWS_WITH(write_directory_atomic(ckpt,
                                             [](const std::string& staging) {
                                                 write_bytes(staging + "/model.bin", "v2 partial");
                                                 fail("checkpoint", "disk full (simulated)");
                                             }),
                      "[checkpoint] disk full (simulated)");
    CHECK(read_bytes(ckpt + "/model.bin") == "v1");
    CHECK(listing(dir.path()) == std::vector<std::string>{"last"});
}

TEST_CASE("recover_directory puts back a version a crash left between the two renames", "[train][atomic]") {
    test::TempDir dir;
    const std::string ckpt = dir / "last";
    // The state after "rename last -> last.old-<pid>" and a kill before "rename last.tmp-<pid> -> last".
    fs::create_directory(dir / "last.old-4242");
    write_bytes(dir / "last.old-4242/model.bin", "previous");
    fs::create_directory(dir / "last.tmp-4242");
    write_bytes(dir / "last.tmp-4242/model.bin", "unfinished");

    CHECK(recover_directory(ckpt));
    CHECK(read_bytes(ckpt + "/model.bin") == "previous");
    CHECK(listing(dir.path()) == std::vector<std::string>{"last"});
    CHECK_FALSE(recover_directory(ckpt));  // nothing left to repair
}

TEST_CASE("write_directory_atomic refuses to replace a regular file", "[train][atomic]") {
    test::TempDir dir;
    write_bytes(dir / "last", "a file");
    CHECK_THROWS_WITH(write_directory_atomic(dir / "last", [](const std::string&) {}),
                      fmt::format("[checkpoint] cannot write '{}': it exists and is not a directory (remove it or "
                                  "choose another name)", dir / "last"));
    CHECK(read_bytes(dir / "last") == "a file");
}
